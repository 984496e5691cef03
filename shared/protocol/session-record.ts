import { z } from 'zod';
import { AgentName, SessionId, TenantId } from './ids.js';
import { SessionOptions } from './options.js';

/** Lifecycle of a session as the registry tracks it. */
export const SessionState = z.enum(['queued', 'running', 'waiting_for_input', 'idle', 'done', 'expired']);
export type SessionState = z.infer<typeof SessionState>;

/**
 * The session registry entry (a NATS KV value). Ownership lives here so every gateway
 * can authorise a resume; state is updated on transitions only, never per token.
 */
export const SessionRecord = z.object({
  sid: SessionId,
  tenant: TenantId,
  user: z.string(),
  agent: AgentName,
  state: SessionState,
  createdAt: z.number(),
  updatedAt: z.number(),
  turns: z.number().int().nonnegative().default(1),
  /** Set by `cancel`; a worker that picks the job up later sees it and does not run the model. */
  cancelRequested: z.boolean().default(false),
  /** Options given at start; every later turn of the conversation uses them too. */
  options: SessionOptions.optional(),
  /** Outcome of the last finished turn. */
  lastOutcome: z.enum(['done', 'error', 'cancelled']).optional(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;
