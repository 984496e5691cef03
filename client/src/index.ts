/**
 * StreamFabric client: durable, resumable token streams over WebSocket, for browsers and Node.
 * @packageDocumentation
 */

export type { ErrorCode, SessionEvent, SessionOptions } from '../../shared/protocol/index.js';
export { backoffDelay } from './backoff.js';
export {
  type ClientOptions,
  type ConnectionState,
  type StartOptions,
  StreamFabricClient,
  type WebSocketCtor,
  type WebSocketLike,
} from './client.js';
export { StreamFabricError } from './errors.js';
export { StreamSession } from './session.js';
