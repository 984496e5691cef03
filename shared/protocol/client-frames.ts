import { z } from 'zod';
import { AgentName, SessionId } from './ids.js';
import { SessionOptions } from './options.js';

/** Correlates a request with its `reply`. Chosen by the client. */
const RequestId = z.union([z.string().max(64), z.number().int()]);

/** Maximum prompt length accepted by default (characters); gateways may lower it. */
export const MAX_INPUT_CHARS = 100_000;

/**
 * Start a new session: the gateway records it and queues a job for the agent's worker pool.
 * A client may choose the session id itself (idempotent start: retrying with the same id never
 * creates a second session).
 */
export const StartFrame = z
  .object({
    type: z.literal('start'),
    id: RequestId.optional(),
    sid: SessionId.optional(),
    agent: AgentName.default('builtin'),
    input: z.string().max(MAX_INPUT_CHARS),
    options: SessionOptions.optional(),
  })
  .strict();
export type StartFrame = z.infer<typeof StartFrame>;

/** Receive events of a session after `after` (0 = from the beginning), then live ones. */
export const ResumeFrame = z
  .object({
    type: z.literal('resume'),
    id: RequestId.optional(),
    sid: SessionId,
    after: z.number().int().nonnegative(),
    /**
     * Optional: the `prevPos` of the event `after` (as received). A hint only: the gateway starts
     * its log read there, and a wrong value costs a read from the start, never an event.
     */
    pos: z.number().int().nonnegative().optional(),
    /**
     * Optional: the `epoch` of the event `after` (as received). When the log no longer holds that
     * event with that epoch (it was lost and rewritten), the resume is refused with
     * `log_rewritten`: the client drops what it holds and reads the session again from 0.
     */
    epoch: z.string().min(1).max(32).optional(),
    /**
     * Optional: start from the session's conversation snapshot when it covers more than `after`
     * (a new device opening a long conversation). The reply then carries `conversation`, and
     * events follow from `conversation.lastSeq + 1`, each exactly once (docs/conversations.md).
     * Without a usable snapshot the resume is served from `after` as usual.
     */
    snapshot: z.boolean().optional(),
  })
  .strict();
export type ResumeFrame = z.infer<typeof ResumeFrame>;

/** Stop the running turn of a session; it ends with a `cancelled` event. */
export const CancelFrame = z
  .object({ type: z.literal('cancel'), id: RequestId.optional(), sid: SessionId })
  .strict();
export type CancelFrame = z.infer<typeof CancelFrame>;

/** Stop receiving a session's events on this connection (the session goes on). */
export const UnsubscribeFrame = z
  .object({ type: z.literal('unsubscribe'), id: RequestId.optional(), sid: SessionId })
  .strict();
export type UnsubscribeFrame = z.infer<typeof UnsubscribeFrame>;

/**
 * A follow-up turn in a conversation, accepted when the previous turn has ended. It becomes a
 * `user_message` event in the session's log and a new job that sees the whole history.
 */
export const MessageFrame = z
  .object({
    type: z.literal('message'),
    id: RequestId.optional(),
    sid: SessionId,
    text: z.string().min(1).max(MAX_INPUT_CHARS),
    /** The turn this message starts (previous turn + 1); makes a retried send idempotent. */
    turn: z.number().int().min(2).optional(),
  })
  .strict();
export type MessageFrame = z.infer<typeof MessageFrame>;

/** The user's answer to an agent's `input_request`; it becomes an `input` event in the log. */
export const InputFrame = z
  .object({
    type: z.literal('input'),
    id: RequestId.optional(),
    sid: SessionId,
    requestId: z.string().min(1).max(128),
    text: z.string().max(MAX_INPUT_CHARS),
  })
  .strict();
export type InputFrame = z.infer<typeof InputFrame>;

/** Deletes a session: cancels a running turn, purges its log and registry entry. */
export const DeleteFrame = z
  .object({ type: z.literal('delete'), id: RequestId.optional(), sid: SessionId })
  .strict();
export type DeleteFrame = z.infer<typeof DeleteFrame>;
/** The seed's `get_metrics`: a session's live figures, answered with a reply carrying `metrics`. */
export const GetMetricsFrame = z
  .object({ type: z.literal('get_metrics'), id: RequestId.optional(), sid: SessionId })
  .strict();
export type GetMetricsFrame = z.infer<typeof GetMetricsFrame>;

/** Application-level ping; answered with `pong`. */
export const PingFrame = z.object({ type: z.literal('ping'), id: RequestId.optional() }).strict();
export type PingFrame = z.infer<typeof PingFrame>;

/** Every frame a client may send. */
export const ClientFrame = z.discriminatedUnion('type', [
  StartFrame,
  ResumeFrame,
  CancelFrame,
  UnsubscribeFrame,
  PingFrame,
  MessageFrame,
  InputFrame,
  DeleteFrame,
  GetMetricsFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];
/** The frame types a gateway understands, for `unknown_type` errors. */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = [
  'start',
  'resume',
  'cancel',
  'unsubscribe',
  'ping',
  'message',
  'input',
  'delete',
  'get_metrics',
];
export { RequestId };
