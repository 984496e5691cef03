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
]);

/** Builds an {@link ErrorBody} with the conventional `retryable` flag for its code. */
export function errorBody(code: ErrorCode, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { code, message, retryable: RETRYABLE.has(code), ...extra };
}

/**
 * WebSocket close codes. 1xxx are the standard ones we use; 4000-4099 are terminal (do not
 * reconnect with the same credentials); 4100-4199 ask the client to reconnect (any gateway).
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  unauthenticated: 4001,
  forbidden: 4003,
  rateLimited: 4008,
  badProtocol: 4002,
  reconnect: 4100,
  heartbeatTimeout: 4101,
  slowConsumer: 4102,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a client should reconnect after the server closed with this code. */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code < 4100) return false;
  if (code === CloseCode.policyViolation || code === CloseCode.messageTooBig) return false;
  return true;
}
