import type OpenAI from 'openai';
import type { ErrorBody } from '../../../shared/protocol/index.js';
import type { AgentOutput } from './agent.js';
import { classifyUpstreamError } from './openai-errors.js';
import { ToolCallAssembler } from './tool-call-assembler.js';

type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsStreaming;

/** How one request to the model ended. `produced` counts outputs already handed to the fabric. */
export type AttemptResult =
  | { kind: 'ok' }
  | { kind: 'aborted' }
  | { kind: 'failed'; error: ErrorBody; produced: number };

/**
 * Aborts when the provider stays silent for `ms` while we wait for it. It runs only while we
 * wait on the provider, never while the fabric holds a yielded output (pacing, a slow log),
 * so backpressure on our side is not mistaken for a stalled model.
 */
class Watchdog {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | null = null;
  fired = false;

  constructor(private readonly ms: number) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async guard<T>(work: Promise<T>): Promise<T> {
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort();
    }, this.ms);
    try {
      return await work;
    } finally {
      this.stop();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * One streamed Chat Completions request: content deltas become `token` outputs as they arrive,
 * tool-call deltas are assembled and handed out whole when the choice finishes, then `usage`
 * and `finish`. Aborting `signal` aborts the HTTP request itself (the provider stops
 * generating and billing); it never throws: failures come back as a typed result.
 */
export async function* streamCompletion(
  client: OpenAI,
  params: ChatParams,
  opts: { signal: AbortSignal; timeoutMs: number },
): AsyncGenerator<AgentOutput, AttemptResult, undefined> {
  const watchdog = new Watchdog(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, watchdog.signal]);
  const tools = new ToolCallAssembler();
  let produced = 0;
  let finishReason: string | null = null;
  let usage: OpenAI.CompletionUsage | null = null;
  let iterator: AsyncIterator<OpenAI.Chat.ChatCompletionChunk> | undefined;
  const timedOut: ErrorBody = {
    code: 'upstream_timeout',
    message: `model provider sent nothing for ${opts.timeoutMs} ms (OPENAI_TIMEOUT_MS)`,
    retryable: true,
  };
  const failed = (error: ErrorBody): AttemptResult => ({ kind: 'failed', error, produced });

  try {
    // Retries are ours (they also cover streams that break before the first token).
    const stream = await watchdog.guard(
      client.chat.completions.create(params, { signal, timeout: opts.timeoutMs, maxRetries: 0 }),
    );
    iterator = stream[Symbol.asyncIterator]();
    for (;;) {
      // The SDK ends the iteration quietly when the signal aborts: the checks below tell why.
      const next = await watchdog.guard(iterator.next());
      if (next.done) break;
      const chunk = next.value;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices?.find((c) => c.index === 0);
      if (!choice) continue;
      // A refusal is the model's answer too (structured outputs stream it in its own field).
      const text = choice.delta?.content || choice.delta?.refusal;
      if (text) {
        produced++;
        yield { kind: 'token', text };
      }
      if (choice.delta?.tool_calls) tools.add(choice.delta.tool_calls);
      if (choice.finish_reason) {
        finishReason = choice.finish_reason;
        for (const call of tools.drain()) {
          produced++;
          yield call;
        }
      }
    }
  } catch (err) {
    if (opts.signal.aborted) return { kind: 'aborted' };
    return failed(watchdog.fired ? timedOut : classifyUpstreamError(err));
  } finally {
    watchdog.stop();
    // Leaving early (cancel, or the fabric stopped reading): the SDK aborts the request on return.
    await iterator?.return?.();
  }
  if (opts.signal.aborted) return { kind: 'aborted' };
  if (watchdog.fired) return failed(timedOut);
  if (finishReason === null) {
    return failed({
      code: 'upstream_error',
      message: 'model stream ended before the answer was complete (no finish_reason)',
      retryable: true,
    });
  }
  if (usage) {
    yield {
      kind: 'usage',
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens,
    };
  }
  yield { kind: 'finish', reason: finishReason };
  return { kind: 'ok' };
}
