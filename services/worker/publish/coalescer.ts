import type { AgentOutput } from '../agents/agent.js';

type TokenOut = Extract<AgentOutput, { kind: 'token' }>;

export interface CoalescerOptions {
  /** Flush when this many model tokens are buffered. */
  bufferSize: number;
  /** Longest a token waits in the buffer (ms); 0 = flush every token at once. */
  flushIntervalMs: number;
}

/**
 * Coalesces model tokens into fewer `token` events (the seed's buffer + flush interval): a
 * flush happens when `bufferSize` tokens are waiting, when the oldest waited `flushIntervalMs`,
 * before any non-token output, and at the end. Text is concatenated, never changed or
 * reordered; tokens of different agents are never merged.
 */
export class TokenCoalescer {
  private text = '';
  private count = 0;
  private agent: string | undefined;
  private index: number | undefined;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly opts: CoalescerOptions,
    /** Receives each coalesced token output and how many model tokens it holds. */
    private readonly emit: (out: TokenOut, tokens: number) => void,
  ) {}

  /** Adds a token; may emit synchronously when the buffer is full. */
  push(tok: TokenOut): void {
    if (this.count > 0 && tok.agent !== this.agent) this.flush();
    this.text += tok.text;
    this.count++;
    this.agent = tok.agent;
    this.index = tok.index;
    if (this.count >= this.opts.bufferSize || this.opts.flushIntervalMs === 0) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushIntervalMs);
    }
  }

  /** Emits whatever is buffered. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.count === 0) return;
    const out: TokenOut = { kind: 'token', text: this.text };
    if (this.agent !== undefined) out.agent = this.agent;
    if (this.index !== undefined) out.index = this.index;
    const tokens = this.count;
    this.text = '';
    this.count = 0;
    this.emit(out, tokens);
  }

  /** Drops the buffer and timer (on abort). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.text = '';
    this.count = 0;
  }
}
