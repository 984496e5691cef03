/**
 * React bindings of the StreamFabric client (`@streamfabric/client/react`).
 * @packageDocumentation
 */
export { type StreamStatus, type UseStreamResult, useStream } from './use-stream.js';
