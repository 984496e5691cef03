import type OpenAI from 'openai';
import type { OpenAiTool } from '../../../shared/config/openai-config.js';
import type { Job } from '../../../shared/protocol/index.js';
import { abortableSleep } from './abortable-sleep.js';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { retryDelayMs } from './openai-errors.js';
import { streamCompletion } from './openai-stream.js';

/** Defaults of the `openai` agent (from OPENAI_* settings); a session's options override the first four. */
export interface OpenAiSettings {
  model: string;
  temperature?: number;
  maxTokens?: number;
  systemPrompt?: string;
  /** Request field carrying the token limit (`max_completion_tokens` for newer OpenAI models). */
  maxTokensField: 'max_tokens' | 'max_completion_tokens';
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
  /** Ask for `usage` in the stream (`stream_options.include_usage`). */
  streamUsage: boolean;
  tools?: OpenAiTool[];
}

/**
 * An agent backed by any OpenAI-compatible Chat Completions API (OpenAI, Azure OpenAI, vLLM,
 * Ollama, LM Studio), streamed with the official `openai` SDK. A retryable failure before the
 * first output is retried (honouring `retry-after`); once output reached the log a failure
 * ends the turn with a typed error, since the text so far cannot be taken back.
 *
 * A provider's answer cannot be reproduced token for token, so a redelivered job reruns the
 * turn from the start (`canContinue = false`: the log gets a `restart` with mode `rerun`).
 */
export class OpenAiAgent implements Agent {
  readonly name = 'openai';
  readonly canContinue = false;

  constructor(
    private readonly client: OpenAI,
    private readonly settings: OpenAiSettings,
  ) {}

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    const s = this.settings;
    const params = this.request(ctx.job);
    for (let attempt = 0; ; attempt++) {
      const result = yield* streamCompletion(this.client, params, {
        signal: ctx.signal,
        timeoutMs: s.timeoutMs,
      });
      if (result.kind !== 'failed') return;
      const { error, produced } = result;
      ctx.log.warn(
        { attempt: attempt + 1, code: error.code, produced, err: error.message },
        'model request failed',
      );
      if (produced > 0) {
        yield {
          kind: 'error',
          error: { ...error, message: `${error.message} (after ${produced} streamed outputs; not retried)` },
        };
        return;
      }
      const delay = retryDelayMs(attempt, error, { baseMs: s.retryBaseMs, maxMs: s.retryMaxDelayMs });
      if (!error.retryable || attempt >= s.maxRetries || delay > s.retryMaxDelayMs) {
        const why =
          delay > s.retryMaxDelayMs
            ? `retry-after ${delay} ms is over OPENAI_RETRY_MAX_DELAY_MS`
            : `gave up after ${attempt + 1} tries`;
        yield {
          kind: 'error',
          error: error.retryable ? { ...error, message: `${error.message} (${why})` } : error,
        };
        return;
      }
      ctx.log.info({ attempt: attempt + 2, delayMs: delay }, 'retrying model request');
      if (!(await abortableSleep(delay, ctx.signal))) return;
    }
  }

  /** The request for a job: the worker's defaults, overridden by the session's options. */
  request(job: Job): OpenAI.Chat.ChatCompletionCreateParamsStreaming {
    const s = this.settings;
    const o = job.options;
    const system = o.systemPrompt ?? s.systemPrompt;
    const temperature = o.temperature ?? s.temperature;
    const maxTokens = o.maxTokens ?? s.maxTokens;
    return {
      model: o.model ?? s.model,
      messages: [
        ...(system ? [{ role: 'system' as const, content: system }] : []),
        { role: 'user' as const, content: job.input },
      ],
      stream: true,
      ...(s.streamUsage ? { stream_options: { include_usage: true } } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { [s.maxTokensField]: maxTokens } : {}),
      ...(s.tools?.length ? { tools: s.tools } : {}),
    };
  }
}
