import { FakeOpenAi, type FakeRequest, type FakeScenario } from '../openai/fake-openai-server.js';

/**
 * The model behind a bridge adapter's demo under the conformance suite: the local
 * OpenAI-compatible server (test/openai/fake-openai-server.ts), so the framework's own OpenAI
 * client streams real HTTP/SSE, and every answer is known in advance and paced as the scenario
 * asks (slow enough to cancel or kill mid-stream). Answers are keyed by the prompt (the last user
 * message), so each scenario's unique input picks its own script.
 */
export class ScriptedModel {
  private server: Promise<FakeOpenAi> | undefined;
  private fake: FakeOpenAi | undefined;

  /** Starts the server once (pools spawn concurrently) and returns its base URL. */
  async baseUrl(): Promise<string> {
    this.server ??= FakeOpenAi.start().then((f) => {
      this.fake = f;
      return f;
    });
    return (await this.server).baseUrl;
  }

  private get started(): FakeOpenAi {
    if (!this.fake) throw new Error('the scripted model is not started (no worker was spawned)');
    return this.fake;
  }

  /** The answer to `prompt`: the n-th request plays `attempts[n]`, the last one repeats. */
  script(prompt: string, ...attempts: FakeScenario[]): void {
    this.started.script(prompt, ...attempts);
  }

  /** A streamed answer of `length` words at `tokensPerSecond` (0 = unpaced); returns its text. */
  words(prompt: string, length: number, tokensPerSecond: number): string {
    const tokens = Array.from({ length }, (_, i) => `${i === 0 ? '' : ' '}w${i + 1}`);
    this.script(prompt, {
      tokens,
      ...(tokensPerSecond > 0 ? { tokenDelayMs: Math.round(1000 / tokensPerSecond) } : {}),
    });
    return tokens.join('');
  }

  requestsFor(prompt: string): FakeRequest[] {
    return this.started.requestsFor(prompt);
  }

  async stop(): Promise<void> {
    await this.fake?.stop();
  }
}

/** A chat message's text, whether the client sent a string or a list of text parts. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('');
  return '';
}
