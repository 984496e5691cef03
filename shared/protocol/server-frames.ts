import { z } from 'zod';
import { RequestId } from './client-frames.js';
import { ConversationSchema } from './conversation-snapshot.js';
import { ErrorBody } from './errors.js';
import { SessionEvent } from './events.js';
import { SessionId } from './ids.js';
import { SessionMetrics } from './session-api.js';

/** First frame on every connection. */
export const WelcomeFrame = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  gateway: z.string(),
  /** The server sends a `heartbeat` at least this often; silence for 2.5x means the link is dead. */
  heartbeatMs: z.number().int().positive(),
});
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;

/** The answer to a client request. `ok: false` carries a typed error. */
export const ReplyFrame = z.object({
  type: z.literal('reply'),
  id: RequestId.optional(),
  /** The request type answered, so a client without ids can still tell replies apart. */
  op: z.string(),
  ok: z.boolean(),
  sid: SessionId.optional(),
  error: ErrorBody.optional(),
  /** For `resume`: the last seq stored when the resume was served. */
  lastSeq: z.number().int().nonnegative().optional(),
  /** For `message`: the conversation turn the message started. */
  turn: z.number().int().min(1).optional(),
  /** For `get_metrics`: the session's live figures. */
  metrics: SessionMetrics.optional(),
  /** For `start`/`message`: the turn is queued but its agent has no live worker yet (docs/agent-pools.md). */
  queueReason: z.enum(['no_live_worker']).optional(),
  /**
   * For `resume` with `snapshot: true`: the folded conversation up to `conversation.lastSeq`;
   * the events that follow start at `conversation.lastSeq + 1`.
   */
  conversation: ConversationSchema.optional(),
});
export type ReplyFrame = z.infer<typeof ReplyFrame>;

export const PongFrame = z.object({ type: z.literal('pong'), id: RequestId.optional(), ts: z.number() });
export type PongFrame = z.infer<typeof PongFrame>;

export const HeartbeatFrame = z.object({ type: z.literal('heartbeat'), ts: z.number() });
export type HeartbeatFrame = z.infer<typeof HeartbeatFrame>;

/**
 * The gateway is going away (draining for a deploy): reconnect, to any gateway, after
 * `reconnectAfterMs` at most, and resume every session.
 */
export const GoawayFrame = z.object({
  type: z.literal('goaway'),
  reason: z.string(),
  reconnectAfterMs: z.number().int().nonnegative(),
});
export type GoawayFrame = z.infer<typeof GoawayFrame>;

/** Control frames: everything the server sends that is not a session event. */
export const ControlFrame = z.discriminatedUnion('type', [
  WelcomeFrame,
  ReplyFrame,
  PongFrame,
  HeartbeatFrame,
  GoawayFrame,
]);
export type ControlFrame = z.infer<typeof ControlFrame>;

/**
 * Every frame a server sends: a control frame, or a session event forwarded byte for byte
 * from the log (events carry `sid` and `seq`, control frames do not carry `seq`).
 */
export const ServerFrame = z.union([ControlFrame, SessionEvent]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** Tells a session event from a control frame without a full parse. */
export function isSessionEvent(frame: { type: string; seq?: unknown }): frame is SessionEvent {
  return typeof frame.seq === 'number';
}
