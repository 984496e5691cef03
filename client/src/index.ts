/**
 * StreamFabric client: durable, resumable token streams over WebSocket, for browsers and Node.
 * @packageDocumentation
 */
export { StreamFabricClient, type ClientOptions, type ConnectionState, type StartOptions, type WebSocketCtor, type WebSocketLike } from './client.js';
export { StreamSession } from './session.js';
export { StreamFabricError } from './errors.js';
export { backoffDelay } from './backoff.js';
export type { SessionEvent, SessionOptions, ErrorCode } from '../../shared/protocol/index.js';
