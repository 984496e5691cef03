import { z } from 'zod';
import { AgentList, AgentLiveWorker, AgentPoolDeclaration } from './agent-pools.js';
import { ClientFrame } from './client-frames.js';
import { ConversationSnapshot } from './conversation-snapshot.js';
import { SessionEvent } from './events.js';
import { ControlMessage, Job } from './jobs.js';
import { ServerFrame } from './server-frames.js';
import { SessionRecord } from './session-record.js';

/** The schemas exported as JSON Schema files (`npm run schemas` writes `shared/protocol/schema/`). */
export const EXPORTED_SCHEMAS = {
  'client-frame': ClientFrame,
  'server-frame': ServerFrame,
  'session-event': SessionEvent,
  job: Job,
  'control-message': ControlMessage,
  'session-record': SessionRecord,
  'agent-pool-declaration': AgentPoolDeclaration,
  'agent-live-worker': AgentLiveWorker,
  'agent-list': AgentList,
  'conversation-snapshot': ConversationSnapshot,
} as const;

/**
 * Converts every exported schema to JSON Schema (draft 2020-12). `io: "input"` documents
 * what a producer may send (defaults are optional), which is what other-language clients need.
 */
export function toJsonSchemas(): Record<keyof typeof EXPORTED_SCHEMAS, unknown> {
  const out = {} as Record<keyof typeof EXPORTED_SCHEMAS, unknown>;
  for (const [name, schema] of Object.entries(EXPORTED_SCHEMAS)) {
    out[name as keyof typeof EXPORTED_SCHEMAS] = z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'any',
    });
  }
  return out;
}
