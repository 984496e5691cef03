/**
 * StreamFabric client: durable, resumable token streams over WebSocket, for browsers and Node.
 * @packageDocumentation
 */

export type { ErrorBody, ErrorCode } from '../../shared/protocol/errors.js';
export type {
  CancelledEvent,
  DoneEvent,
  ErrorEvent,
  MessageEvent,
  RestartEvent,
  SessionEvent,
  SessionEventType,
  TokenEvent,
  ToolCallEvent,
  ToolResultEvent,
  UsageEvent,
} from '../../shared/protocol/events.js';
export type { SessionOptions } from '../../shared/protocol/options.js';
export { CloseCode, shouldReconnect } from '../../shared/protocol/wire-constants.js';
export { type BackoffPolicy, backoffDelay } from './backoff.js';
export { StreamFabricClient } from './client.js';
export { StreamFabricError } from './errors.js';
export { browserNetworkSignals, type NetworkSignal, type NetworkSignals } from './network-signals.js';
export { type EventOf, StreamSession } from './session.js';
export { type PersistedSession, SessionStore, type StorageLike } from './session-store.js';
export type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  StartOptions,
  WebSocketCtor,
  WebSocketLike,
} from './types.js';
export { asSessionEvent, isTerminalEvent, parseServerFrame } from './wire.js';
