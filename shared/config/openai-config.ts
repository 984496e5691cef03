import { z } from 'zod';
import { boolean, nonNegativeInt, positiveInt } from './fields.js';

/**
 * A function tool the model may call, in the Chat Completions `tools` format. The worker does
 * not run tools: it streams the model's calls to the client as `tool_call` events.
 */
export const OpenAiTool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().optional(),
      })
      .strict(),
  })
  .strict();
export type OpenAiTool = z.infer<typeof OpenAiTool>;

/** An env variable holding JSON, checked against `schema` (a parse error names the variable). */
const jsonOf = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/**
 * Settings of the `openai` agent: any server that speaks the OpenAI Chat Completions API with
 * streaming (OpenAI, Azure OpenAI v1, vLLM, Ollama, LM Studio, ...). Spread into WorkerConfig.
 */
export const OpenAiConfigShape = {
  /** Base URL of the OpenAI-compatible API (up to and including `/v1`). */
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  /** API key sent as `Authorization: Bearer`; local servers (Ollama, vLLM) accept any value. */
  OPENAI_API_KEY: z.string().optional(),
  /** Default model; a session's `options.model` overrides it. */
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /** Default sampling temperature (unset = the provider's default); `options.temperature` overrides. */
  OPENAI_TEMPERATURE: z.coerce.number().min(0).max(2).optional(),
  /** Default completion token limit (unset = the provider's default); `options.maxTokens` overrides. */
  OPENAI_MAX_TOKENS: z.coerce.number().int().min(1).optional(),
  /** Request field carrying the token limit: newer OpenAI models accept only `max_completion_tokens`. */
  OPENAI_MAX_TOKENS_FIELD: z.enum(['max_tokens', 'max_completion_tokens']).default('max_tokens'),
  /** Default system prompt (unset = none); `options.systemPrompt` overrides. */
  OPENAI_SYSTEM_PROMPT: z.string().optional(),
  /** Longest wait for the response to start and between two streamed chunks (ms): then upstream_timeout. */
  OPENAI_TIMEOUT_MS: positiveInt(60_000),
  /** Retries of a retryable failure (429, 5xx, timeout, cut stream) that happens before the first token. */
  OPENAI_MAX_RETRIES: nonNegativeInt(2, 20),
  /** Base of the full-jitter exponential backoff between retries (ms) when the server gives no retry-after. */
  OPENAI_RETRY_BASE_MS: positiveInt(500),
  /** Longest wait before a retry (ms): a longer `retry-after` ends the turn with upstream_rate_limited. */
  OPENAI_RETRY_MAX_DELAY_MS: positiveInt(30_000),
  /** Ask for token usage in the stream (`stream_options.include_usage`); turn off for servers that reject it. */
  OPENAI_STREAM_USAGE: boolean(true),
  /** Offer the built-in `ask_user` tool (human in the loop); off by default since some servers reject tools. */
  OPENAI_ASK_USER_TOOL: boolean(false),
  /** Tools offered to the model, as a JSON array in the Chat Completions `tools` format (unset = none). */
  OPENAI_TOOLS: jsonOf(z.array(OpenAiTool).max(128)).optional(),
} as const;
