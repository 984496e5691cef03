import type OpenAI from 'openai';
import { z } from 'zod';
import type { OpenAiTool } from '../../../shared/config/openai-config.js';
import type { ConversationTurn, Job } from '../../../shared/protocol/index.js';
import { abortableSleep } from './abortable-sleep.js';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { retryDelayMs } from './openai-errors.js';
import { ASK_USER_TOOL, askUserTool, conversationMessages } from './openai-messages.js';
import { streamCompletion } from './openai-stream.js';

/** Arguments the model gives `ask_user` (parsed: the model's JSON is external input). */
const AskUserArgs = z.object({
  question: z.string().min(1).max(2_000),
  options: z.array(z.string()).max(20).optional(),
});

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
  /** Offer the built-in `ask_user` tool: the model can ask the user and wait (human in the loop). */
  askUserTool: boolean;
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
    const params = this.request(ctx.job, ctx.history);
    for (let attempt = 0; ; attempt++) {
      const asks: Extract<AgentOutput, { kind: 'tool_call' }>[] = [];
      const stream = streamCompletion(this.client, params, { signal: ctx.signal, timeoutMs: s.timeoutMs });
      let step = await stream.next();
      for (; !step.done; step = await stream.next()) {
        const out = step.value;
        if (out.kind === 'tool_call' && out.name === ASK_USER_TOOL) asks.push(out);
        // The turn goes on after the user answers: hold this round's finish back.
        if (out.kind === 'finish' && asks.length > 0) continue;
        yield out;
      }
      const result = step.value;
      if (result.kind === 'ok' && asks.length > 0) {
        // Human in the loop: ask, wait (durably, through the log), give the model the answers.
        params.messages.push({
          role: 'assistant',
          content: null,
          tool_calls: asks.map((a) => ({
            id: a.id,
            type: 'function' as const,
            function: { name: a.name, arguments: a.arguments },
          })),
        });
        for (const call of asks) {
          const args = AskUserArgs.safeParse(safeJson(call.arguments));
          const answer = args.success
            ? await ctx.askUser({
                prompt: args.data.question,
                ...(args.data.options ? { options: args.data.options } : {}),
              })
            : `error: invalid ask_user arguments (${args.error.issues[0]?.message ?? 'bad JSON'})`;
          yield {
            kind: 'tool_result',
            id: call.id,
            name: ASK_USER_TOOL,
            result: answer,
            isError: !args.success,
          };
          params.messages.push({ role: 'tool', tool_call_id: call.id, content: answer });
        }
        attempt = -1; // a new round of the conversation, with its own retry budget
        continue;
      }
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
  request(job: Job, history: ConversationTurn[] = []): OpenAI.Chat.ChatCompletionCreateParamsStreaming {
    const s = this.settings;
    const o = job.options;
    const system = o.systemPrompt ?? s.systemPrompt;
    const temperature = o.temperature ?? s.temperature;
    const maxTokens = o.maxTokens ?? s.maxTokens;
    const tools = [...(s.tools ?? []), ...(s.askUserTool ? [askUserTool] : [])];
    return {
      model: o.model ?? s.model,
      messages: conversationMessages(system, history, job.input),
      stream: true,
      ...(s.streamUsage ? { stream_options: { include_usage: true } } : {}),
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens !== undefined ? { [s.maxTokensField]: maxTokens } : {}),
      ...(tools.length ? { tools } : {}),
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
