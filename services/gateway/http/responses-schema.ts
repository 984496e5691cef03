import { z } from 'zod';
import { SessionId, SessionOptions } from '../../../shared/protocol/index.js';
import { agentOfModel, type ChatMessage, inputOf } from './openai-compat-schema.js';

/** A content part of an input message: `input_text` / `output_text` carry text, others are ignored. */
const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

/** A message item (`{role, content}`, with or without `type: "message"`). */
const MessageItem = z.looseObject({
  type: z.literal('message').optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([z.string(), z.array(ContentPart)]),
});

/** The client's answer to a function call: how a user answers the agent's `input_request`. */
const FunctionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  call_id: z.string().min(1).max(200),
  output: z.union([z.string(), z.array(ContentPart)]),
});

/** Items a client echoes back from earlier output (function_call, reasoning, ...): accepted, not used. */
const OtherItem = z.looseObject({ type: z.string().refine((t) => t !== 'message', 'invalid message item') });

const InputItem = z.union([FunctionCallOutputItem, MessageItem, OtherItem]);
type InputItem = z.infer<typeof InputItem>;

/**
 * The body of `POST /v1/responses` as far as StreamFabric uses it. Unknown OpenAI fields (tools,
 * store, include, text, ...) are accepted and ignored so SDK calls work unchanged; the fields we
 * use are checked. `streamfabric` is our extra: any {@link SessionOptions} (e.g. `length`, `askUser`).
 */
export const ResponseCreateRequest = z.looseObject({
  /** Selects the agent: `builtin` or `streamfabric/builtin`. */
  model: z.string().min(1).max(200),
  input: z.union([z.string().min(1), z.array(InputItem).min(1).max(1_000)]),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  background: z.boolean().nullish(),
  previous_response_id: z.string().max(200).nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  streamfabric: SessionOptions.optional(),
});
export type ResponseCreateRequest = z.infer<typeof ResponseCreateRequest>;

/** `GET /v1/responses/{id}` query: `stream=true&starting_after=n` resumes a stream after event n. */
export const ResponseRetrieveQuery = z.looseObject({
  stream: z.enum(['true', 'false']).optional(),
  starting_after: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/**
 * Which agent a `model` selects (the route first answers a model no pool declared with OpenAI's
 * 404 `model_not_found`, through the agent directory: agents-routes.ts `modelNotFound`).
 */
export function resolveResponsesAgent(model: string): string | null {
  return agentOfModel(model);
}

/**
 * A response is one segment of a session's log: it starts at the event that asked for it (a
 * `user_message` for a turn, or the `input` that answered an agent's question) and ends at the
 * next terminal event or `input_request`. Its id is that start: `resp_<sid>_<seq>`, so any
 * gateway finds the session and the segment without a lookup table.
 */
export interface ResponseRef {
  sid: string;
  /** seq of the segment's first event. */
  startSeq: number;
}

export function responseIdOf(r: ResponseRef): string {
  return `resp_${r.sid}_${r.startSeq}`;
}

/** Parses `resp_<sid>_<seq>` (the sid may contain `_`: the seq is after the last one). */
export function parseResponseId(id: string): ResponseRef | null {
  const m = /^resp_(.+)_(\d{1,15})$/.exec(id);
  if (!m || !SessionId.safeParse(m[1]).success) return null;
  const startSeq = Number(m[2]);
  return startSeq >= 1 ? { sid: m[1]!, startSeq } : null;
}

/** What a create asks the session for: a turn's text (and system prompt), or an answer to a question. */
export type ResponseInput =
  | { kind: 'turn'; input: string; systemPrompt?: string }
  | { kind: 'answer'; callId: string; text: string };

function partsText(c: string | { text?: string | undefined }[]): string {
  return typeof c === 'string' ? c : c.map((p) => p.text ?? '').join('');
}

/**
 * `input` (+ `instructions`) -> the session's input. A `function_call_output` answers the agent's
 * pending question (the last one wins); otherwise the messages become one turn exactly as chat
 * messages do (one message as is, several as a transcript, system/developer as the system prompt).
 */
export function responseInputOf(
  input: string | InputItem[],
  instructions: string | null | undefined,
): ResponseInput | { error: string; param: string } {
  const items: InputItem[] = typeof input === 'string' ? [{ role: 'user', content: input }] : input;
  const answer = items.findLast((i) => i.type === 'function_call_output');
  if (answer && answer.type === 'function_call_output') {
    return { kind: 'answer', callId: String(answer.call_id), text: partsText(answer.output as never) };
  }
  const messages: ChatMessage[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  for (const i of items) {
    if ('role' in i && typeof i.role === 'string')
      messages.push({ role: i.role as ChatMessage['role'], content: partsText(i.content as never) });
  }
  if (!messages.some((m) => m.role !== 'system' && m.role !== 'developer'))
    return { error: 'input holds no user message or function_call_output', param: 'input' };
  return { kind: 'turn', ...inputOf(messages) };
}

/** Whether an event opens a response segment (a turn's message, or the answer to a question). */
export function opensSegment(ev: { type: string }): boolean {
  return ev.type === 'user_message' || ev.type === 'input';
}

/** The segment starts of a log, in order: the response ids a session has had. */
export function segmentStarts(events: readonly { type: string; seq: number }[]): number[] {
  return events.filter(opensSegment).map((e) => e.seq);
}
