import { z } from 'zod';
import { AgentName, SessionOptions } from '../../../shared/protocol/index.js';

/** A message content part (OpenAI's array form); only text parts carry text we can use. */
const ContentPart = z.looseObject({ type: z.string(), text: z.string().optional() });

/** One chat message. Extra fields (tool_calls, refusal, ...) are accepted and ignored. */
export const ChatMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(ContentPart)]).nullish(),
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * The body of `POST /v1/chat/completions` as far as StreamFabric uses it. Unknown OpenAI fields
 * (top_p, tools, ...) are accepted and ignored so existing SDK calls work unchanged; the fields we
 * use are checked. `streamfabric` is our extra: any {@link SessionOptions} (e.g. `length`).
 */
export const ChatCompletionRequest = z.looseObject({
  /** Selects the agent: `builtin` or `streamfabric/builtin`. */
  model: z.string().min(1).max(200),
  messages: z.array(ChatMessage).min(1).max(1_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.literal(1).nullish(),
  seed: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31)
    .nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  streamfabric: SessionOptions.optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/** `model` -> agent name: `streamfabric/builtin` and `builtin` both select `builtin`. */
export function agentOfModel(model: string): string | null {
  const name = model.startsWith('streamfabric/') ? model.slice('streamfabric/'.length) : model;
  const r = AgentName.safeParse(name);
  return r.success ? r.data : null;
}

function textOf(m: ChatMessage): string {
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).map((p) => p.text ?? '').join('');
}

/**
 * Messages -> one job: system/developer messages become the system prompt; a single remaining
 * message is the input as is, several become a transcript (`role: text` paragraphs), since a
 * job carries one input string.
 */
export function inputOf(messages: ChatMessage[]): { input: string; systemPrompt?: string } {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer').map(textOf);
  const rest = messages.filter((m) => m.role !== 'system' && m.role !== 'developer');
  const input =
    rest.length === 1 ? textOf(rest[0]!) : rest.map((m) => `${m.role}: ${textOf(m)}`).join('\n\n');
  return system.length > 0 ? { input, systemPrompt: system.join('\n\n') } : { input };
}

/** Builds the session options from the OpenAI fields and the `streamfabric` extra (which wins). */
export function optionsOf(body: ChatCompletionRequest, systemPrompt: string | undefined): unknown {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(maxTokens != null ? { maxTokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(systemPrompt !== undefined ? { systemPrompt } : {}),
    ...body.streamfabric,
  };
}

/** `x-streamfabric-resume: <sid>:<seq>` -> where to resume. */
export function parseResumeHeader(v: string | undefined): { sid: string; after: number } | null | 'invalid' {
  if (!v) return null;
  const m = /^([A-Za-z0-9_-]{8,64}):(\d{1,15})$/.exec(v.trim());
  return m ? { sid: m[1]!, after: Number(m[2]) } : 'invalid';
}
