import { z } from 'zod';
import { ErrorBody } from './errors.js';
import { Seq, SessionId } from './ids.js';

/**
 * Fields every session event carries. `seq` starts at 1 and is contiguous per session,
 * so a client can prove it holds every event; `ts` is the producer's wall clock (ms),
 * used to measure end-to-end latency.
 */
const EventBase = {
  sid: SessionId,
  seq: Seq,
  ts: z.number(),
  /** The job attempt that produced the event (1 unless a worker was lost and the job redelivered). */
  attempt: z.number().int().min(1).optional(),
  /**
   * Where the session's previous event is stored in the log (its JetStream stream sequence; 0 for
   * the first event). A client resuming after this event sends it back as `pos`, so the gateway
   * reads the log from there instead of from the session's first event.
   */
  prevPos: z.number().int().nonnegative().optional(),
  /**
   * The log generation the event was written in: a random id of the writer that stored it (a
   * worker's attempt, a gateway's append). A position is (`seq`, `epoch`): a log that was lost and
   * written again has different epochs under the same seqs, so a client that sends the epoch of
   * the event it holds back on resume learns of it (`log_rewritten`) instead of silently receiving
   * different events under the same seq. Optional: writers without it are simply not checked.
   */
  epoch: z.string().min(1).max(32).optional(),
};

/** Model output text; several model tokens may be coalesced into one event. */
export const TokenEvent = z.object({
  ...EventBase,
  type: z.literal('token'),
  text: z.string(),
  /** Name of the agent speaking, for multi-agent teams. */
  agent: z.string().optional(),
  /** Index (0-based) of the last model token included: lets a new worker continue deterministically. */
  index: z.number().int().nonnegative().optional(),
});
export type TokenEvent = z.infer<typeof TokenEvent>;

/** A complete agent message: the boundary after streamed tokens (AutoGen teams have several agents). */
export const MessageEvent = z.object({
  ...EventBase,
  type: z.literal('message'),
  agent: z.string(),
  text: z.string(),
  role: z.enum(['assistant', 'user', 'system', 'tool']).default('assistant'),
});
export type MessageEvent = z.infer<typeof MessageEvent>;

/** The model asked to call a tool. `arguments` is the JSON text the model produced. */
export const ToolCallEvent = z.object({
  ...EventBase,
  type: z.literal('tool_call'),
  id: z.string(),
  name: z.string(),
  arguments: z.string(),
  agent: z.string().optional(),
});
export type ToolCallEvent = z.infer<typeof ToolCallEvent>;

/** The result of a tool call. */
export const ToolResultEvent = z.object({
  ...EventBase,
  type: z.literal('tool_result'),
  id: z.string(),
  name: z.string().optional(),
  result: z.string(),
  isError: z.boolean().default(false),
  agent: z.string().optional(),
});
export type ToolResultEvent = z.infer<typeof ToolResultEvent>;

/** Token accounting reported by the model provider. */
export const UsageEvent = z.object({
  ...EventBase,
  type: z.literal('usage'),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
export type UsageEvent = z.infer<typeof UsageEvent>;

/** The turn finished. Terminal for the current turn. */
export const DoneEvent = z.object({
  ...EventBase,
  type: z.literal('done'),
  finishReason: z.string(),
  /** Model tokens produced in this turn. */
  tokens: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
});
export type DoneEvent = z.infer<typeof DoneEvent>;

/** The turn failed. Terminal for the current turn. */
export const ErrorEvent = z.object({
  ...EventBase,
  type: z.literal('error'),
  error: ErrorBody,
});
export type ErrorEvent = z.infer<typeof ErrorEvent>;

/**
 * A worker was lost and another took the job over. With `mode: "rerun"` the client discards
 * the text of the interrupted attempt (since the last turn boundary); with `mode: "continue"` the
 * new worker carries on exactly where the log ends and nothing is discarded.
 */
export const RestartEvent = z.object({
  ...EventBase,
  type: z.literal('restart'),
  attempt: z.number().int().min(2),
  mode: z.enum(['rerun', 'continue']),
  reason: z.string(),
});
export type RestartEvent = z.infer<typeof RestartEvent>;

/** The turn was cancelled on request. Terminal for the current turn. */
export const CancelledEvent = z.object({
  ...EventBase,
  type: z.literal('cancelled'),
  reason: z.string().optional(),
});
export type CancelledEvent = z.infer<typeof CancelledEvent>;

/** A user's turn in a conversation (the first input or a follow-up). */
export const UserMessageEvent = z.object({
  ...EventBase,
  type: z.literal('user_message'),
  text: z.string(),
  user: z.string().optional(),
});
export type UserMessageEvent = z.infer<typeof UserMessageEvent>;

/** An agent asks the user something and waits. */
export const InputRequestEvent = z.object({
  ...EventBase,
  type: z.literal('input_request'),
  requestId: z.string(),
  prompt: z.string(),
  options: z.array(z.string()).optional(),
  /** Epoch ms after which the request times out. */
  deadline: z.number().optional(),
  agent: z.string().optional(),
});
export type InputRequestEvent = z.infer<typeof InputRequestEvent>;

/** The user's answer to an `input_request`. */
export const InputEvent = z.object({
  ...EventBase,
  type: z.literal('input'),
  requestId: z.string(),
  text: z.string(),
  user: z.string().optional(),
});
export type InputEvent = z.infer<typeof InputEvent>;

/** Any event of a session's log. Discriminated by `type`. */
export const SessionEvent = z.discriminatedUnion('type', [
  TokenEvent,
  MessageEvent,
  ToolCallEvent,
  ToolResultEvent,
  UsageEvent,
  DoneEvent,
  ErrorEvent,
  RestartEvent,
  CancelledEvent,
  UserMessageEvent,
  InputRequestEvent,
  InputEvent,
]);
export type SessionEvent = z.infer<typeof SessionEvent>;
export type SessionEventType = SessionEvent['type'];

/** Event types that end a turn: after one of them the session is idle (or finished). */
export const TERMINAL_EVENT_TYPES: ReadonlySet<SessionEventType> = new Set(['done', 'error', 'cancelled']);

/** Whether an event ends the current turn. */
export function isTerminal(ev: { type: string }): boolean {
  return TERMINAL_EVENT_TYPES.has(ev.type as SessionEventType);
}

/** Distributes Omit over a union so each event type keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before the writer stamps it with `sid`, `seq`, `ts` and `attempt`. */
export type EventDraft = DistributiveOmit<SessionEvent, 'sid' | 'seq' | 'ts' | 'attempt' | 'prevPos'> & {
  attempt?: number;
};
