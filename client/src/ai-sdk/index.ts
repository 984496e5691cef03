/**
 * Vercel AI SDK bindings of the StreamFabric client (`@streamfabric/client/ai-sdk`): a
 * `ChatTransport` for `useChat` that streams, resumes and cancels over StreamFabric sessions.
 * @packageDocumentation
 */
export type { ChatRecord } from './chat-store.js';
export { type ChatTransportOptions, StreamFabricChatTransport } from './chat-transport.js';
export { PROVIDER_KEY, type StreamFabricMessageMetadata, TurnChunks } from './ui-chunks.js';
