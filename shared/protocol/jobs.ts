import { z } from 'zod';
import { AgentName, SessionId, TenantId } from './ids.js';
import { SessionOptions } from './options.js';

/**
 * A unit of work on the JOBS stream: run one turn of a session's agent. Workers parse it
 * again on receipt (never trust the queue); `v` versions the payload.
 */
export const Job = z
  .object({
    v: z.literal(1),
    sid: SessionId,
    tenant: TenantId,
    user: z.string().max(256),
    agent: AgentName,
    input: z.string(),
    options: SessionOptions.default({}),
    /** Conversation turn this job runs (1 for the first). */
    turn: z.number().int().min(1).default(1),
    createdAt: z.number(),
    /**
     * The partition count the session lives under (docs/partitions.md), set when it is not 1: a
     * worker reads and writes the session's events in that layout's partition whatever its own
     * NATS_PARTITIONS.
     */
    partitions: z.number().int().min(2).max(64).optional(),
  })
  .strict();
export type Job = z.infer<typeof Job>;

/** Messages on a session's control subject, from gateways to the worker running it. */
export const ControlMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cancel'), sid: SessionId, reason: z.string().optional() }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;
