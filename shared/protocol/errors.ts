import { z } from 'zod';

/**
 * Every error the fabric reports, on the wire and in `error` events. Clients switch on
 * `code`; `message` is for humans; `retryable` says whether the same request may succeed later.
 */
export const ErrorCode = z.enum([
  'bad_frame', // not JSON, not an object, or fails the schema
  'frame_too_large',
  'unknown_type',
  'invalid_argument',
  'not_found',
  'expired', // the session's events left the retention window
  'already_exists',
  'unauthenticated',
  'forbidden',
  'rate_limited',
  'too_many_sessions',
  'overloaded',
  'unavailable', // NATS or a dependency is down: retry
  'timeout',
  'internal',
  'upstream_error', // the model provider failed
  'upstream_auth',
  'upstream_rate_limited',
  'upstream_timeout',
  'agent_error',
  'poison_job',
  'input_timeout',
  'limit_exceeded',
  'busy', // the session is running a turn: wait for its terminal event
  'conflict', // the resource's state refuses the request (Durable Streams: config mismatch, closed, seq)
  'unknown_agent', // no worker pool ever declared this agent (docs/agent-pools.md)
  'queue_timeout', // the agent is known but no worker took the turn within AGENT_QUEUE_TIMEOUT_MS
  'log_rewritten', // the events the client holds are no longer the log's: drop them, resume from 0
  'storage_full', // the event log is out of space: writes are refused until space is freed
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** A typed error as it travels on the wire. */
export const ErrorBody = z.object({
  code: ErrorCode,
  message: z.string(),
  retryable: z.boolean(),
  /** Milliseconds the caller should wait before retrying, when the server knows. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'rate_limited',
  'overloaded',
  'unavailable',
  'timeout',
  'internal',
  'upstream_error',
  'upstream_rate_limited',
  'upstream_timeout',
  'queue_timeout',
  'storage_full',
]);

/** Builds an {@link ErrorBody} with the conventional `retryable` flag for its code. */
export function errorBody(code: ErrorCode, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { code, message, retryable: RETRYABLE.has(code), ...extra };
}

// Close codes live in a zod-free file so the browser client can import them cheaply.
export { CloseCode, shouldReconnect } from './wire-constants.js';
