/**
 * The StreamFabric wire protocol: the single source of truth for every message that crosses
 * a process boundary. Only zod is imported here, so this module ships to browsers and is
 * exported as JSON Schema for the Python bridge and other clients.
 */

export * from './agent-pools.js';
export * from './client-frames.js';
export * from './conversation.js';
export * from './conversation-snapshot.js';
export * from './errors.js';
export * from './events.js';
export * from './ids.js';
export * from './jobs.js';
export * from './json-schema.js';
export * from './options.js';
export * from './server-frames.js';
export * from './session-api.js';
export * from './session-record.js';
