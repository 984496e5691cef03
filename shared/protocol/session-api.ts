import { z } from 'zod';
import { AgentName, SessionId, TenantId } from './ids.js';
import { SessionRecord, SessionState } from './session-record.js';

/**
 * One session's status as every gateway reports it (HTTP `GET /v1/sessions/:id` and the WS
 * `get_metrics` reply): the registry entry (NATS KV) plus where its event log stands.
 */
export const SessionStatus = z.object({
  sid: SessionId,
  tenant: TenantId,
  user: z.string(),
  agent: AgentName,
  state: SessionState,
  turns: z.number().int().nonnegative(),
  cancelRequested: z.boolean(),
  lastOutcome: z.enum(['done', 'error', 'cancelled']).optional(),
  /** Epoch ms. */
  createdAt: z.number(),
  updatedAt: z.number(),
  /** seq of the last stored event (0: none yet). Contiguous, so events written = lastSeq. */
  lastSeq: z.number().int().nonnegative(),
  /** Events the log still holds (fewer than lastSeq once the oldest aged out). */
  events: z.number().int().nonnegative(),
  /** Type and producer time (epoch ms) of the last stored event. */
  lastEventType: z.string().optional(),
  lastEventAt: z.number().optional(),
  /** Why a `queued` session waits: `no_live_worker` = its agent's pool has no live worker (docs/agent-pools.md). */
  queueReason: z.enum(['no_live_worker']).optional(),
});
export type SessionStatus = z.infer<typeof SessionStatus>;

/**
 * The `get_metrics` reply's figures: the session's status plus what this connection has
 * received (`delivered`: last seq sent to it, null when it does not follow the session).
 */
export const SessionMetrics = SessionStatus.extend({
  delivered: z.number().int().nonnegative().nullable(),
  /** lastSeq - delivered: events stored but not yet sent to this connection. */
  lag: z.number().int().nonnegative().nullable(),
});
export type SessionMetrics = z.infer<typeof SessionMetrics>;

/** Query of `GET /v1/sessions`: a page of at most `limit` sessions after `cursor` (by sid). */
export const SessionListQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** Opaque to clients: the `nextCursor` of the previous page. */
    cursor: SessionId.optional(),
    tenant: TenantId.optional(),
    state: SessionState.optional(),
  })
  .strict();
export type SessionListQuery = z.infer<typeof SessionListQuery>;

/** A page of the session list: registry entries, ordered by sid. */
export const SessionListPage = z.object({
  sessions: z.array(SessionRecord),
  /** Present when more sessions may follow: pass it as `cursor`. */
  nextCursor: SessionId.optional(),
});
export type SessionListPage = z.infer<typeof SessionListPage>;

/** Body of `POST /v1/sessions/:id/cancel` (optional: an empty body is fine). */
export const CancelRequest = z.object({ reason: z.string().max(500).optional() }).strict();
export type CancelRequest = z.infer<typeof CancelRequest>;
