/** What the fake server plays for one request. Faults combine with a normal answer. */
export interface FakeScenario {
  /** Answer with this HTTP error status (JSON error body) instead of a stream. */
  status?: number;
  errorMessage?: string;
  /** The error body's `code` (e.g. OpenAI's `insufficient_quota`). */
  errorCode?: string;
  /** Extra response headers, e.g. `{ 'retry-after': '1' }`. */
  headers?: Record<string, string>;
  /** Wait this long before sending anything (status line included). */
  firstByteDelayMs?: number;
  /** Content deltas, one chunk each. */
  tokens?: string[];
  /** Pause before each content / argument chunk (slow tokens). */
  tokenDelayMs?: number;
  /** Tool calls, streamed after the content, arguments in pieces of `argChunkChars`. */
  toolCalls?: { id: string; name: string; arguments: string }[];
  argChunkChars?: number;
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
  /** Destroy the socket after this many content chunks (0 = right after the role chunk). */
  cutAfterTokens?: number;
  /** Go silent (connection kept open) after this many content chunks. */
  stallAfterTokens?: number;
  /** End the HTTP response cleanly after the content, without a finish_reason or [DONE]. */
  endWithoutFinish?: boolean;
}

/** One request the fake server received. */
export interface FakeRequest {
  /** The last user message (what scripts are keyed by). */
  prompt: string;
  /** 0 for the first request with this prompt, 1 for the next, ... */
  attempt: number;
  body: Record<string, unknown>;
  model: string;
  messages: { role: string; content: string }[];
  temperature: number | undefined;
  /** `max_tokens` or `max_completion_tokens`, whichever was sent. */
  maxTokens: number | undefined;
  authorization: string | undefined;
  receivedAt: number;
  /** The client closed the connection before the answer was complete (cancel must do this). */
  clientClosed: boolean;
  /** The whole answer was written. */
  completed: boolean;
}

/** The `openai-model` header OpenAI sends; harmless for the SDK, handy in logs. */
export const FAKE_MODEL_FINGERPRINT = 'fake-openai';

/**
 * One `chat.completion.chunk` as OpenAI streams it. With `include_usage`, every chunk carries
 * `usage: null` and a last chunk with empty `choices` carries the totals.
 */
export function chunkJson(
  meta: { id: string; model: string; created: number; withUsage: boolean },
  delta: Record<string, unknown> | null,
  finishReason: string | null = null,
  usage?: { prompt: number; completion: number },
): Record<string, unknown> {
  const base = {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake0001',
  };
  if (usage) {
    return {
      ...base,
      choices: [],
      usage: {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.prompt + usage.completion,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
    };
  }
  return {
    ...base,
    choices: [{ index: 0, delta: delta ?? {}, logprobs: null, finish_reason: finishReason }],
    ...(meta.withUsage ? { usage: null } : {}),
  };
}
