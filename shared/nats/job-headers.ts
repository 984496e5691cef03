import { headers, type MsgHdrs } from '@nats-io/transport-node';

/**
 * Set on a job whose turn's `user_message` its producer (a gateway starting a session) appends at
 * the same time as it queues the job, instead of before: the worker may get the job first and
 * then waits for that message rather than writing it itself (docs/benchmarks.md, start path).
 * A job without it keeps the old contract: a missing user message is written by the worker.
 */
export const USER_MESSAGE_HEADER = 'Sf-User-Message';
export const USER_MESSAGE_PENDING = 'pending';

export function pendingUserMessageHeaders(): MsgHdrs {
  const h = headers();
  h.set(USER_MESSAGE_HEADER, USER_MESSAGE_PENDING);
  return h;
}

/** Whether a delivered job's producer is appending its user message itself (see above). */
export function userMessagePending(h: { get(k: string): string } | undefined): boolean {
  return h?.get(USER_MESSAGE_HEADER) === USER_MESSAGE_PENDING;
}
