import type { AgentOutput } from '../agents/agent.js';
import { type TickWheel, workerWheel } from '../timing/tick-wheel.js';

type TokenOut = Extract<AgentOutput, { kind: 'token' }>;

export interface CoalescerOptions {
  /** Flush when this many model tokens are buffered. */
  bufferSize: number;
  /** At most one flush per interval, and no token waits longer than this (ms); 0 = every token at once. */
  flushIntervalMs: number;
  /**
   * Adaptive coalescing: while `busy()` (the session's previous event is still being written), a
   * due flush waits, re-checked every HOLD_RECHECK_MS, for at most this long past its deadline
   * (so no token waits more than `flushIntervalMs + maxHoldMs`). 0 or absent = off.
   */
  maxHoldMs?: number;
}

/** How often a held flush looks again whether the write path is free (ms). */
const HOLD_RECHECK_MS = 10;

/**
 * Coalesces model tokens into fewer `token` events (the seed's buffer + flush interval), as a
 * throttle with a leading edge: the first token after a quiet interval is emitted at once (so
 * coalescing adds nothing to the time to first token), later ones are buffered and emitted
 * together one interval after the previous emit. A flush also happens when `bufferSize` tokens
 * are waiting, before any non-token output, and at the end. Text is concatenated, never changed
 * or reordered; tokens of different agents are never merged.
 *
 * Flush deadlines live on a shared {@link TickWheel}: 10,000 sessions arm no timers of their own.
 */
export class TokenCoalescer {
  private text = '';
  private count = 0;
  private agent: string | undefined;
  private index: number | undefined;
  private lastEmitAt = Number.NEGATIVE_INFINITY;
  /** Wheel slot of the pending flush, or -1. */
  private slot = -1;
  /** When the pending flush fell (or falls) due: a hold ends `maxHoldMs` after it. */
  private dueAt = 0;
  private readonly onDeadline = () => {
    this.slot = -1;
    if (this.holding()) this.slot = this.wheel.schedule(HOLD_RECHECK_MS, this.onDeadline);
    else this.flush();
  };

  constructor(
    private readonly opts: CoalescerOptions,
    /** Receives each coalesced token output and how many model tokens it holds. */
    private readonly emit: (out: TokenOut, tokens: number) => void,
    private readonly wheel: TickWheel = workerWheel,
    /** True while the previous emit is still being written (for `maxHoldMs`). */
    private readonly busy?: () => boolean,
  ) {}

  /**
   * A due flush waits while the write path is busy: the event it would add would only queue
   * behind the one being written, so the tokens ride along in the next one instead. Idle, the
   * previous write is long done by the deadline and nothing waits: no latency is added.
   */
  private holding(): boolean {
    const max = this.opts.maxHoldMs ?? 0;
    // Never the leading edge (the turn's first token: time to first token is not traded).
    if (max <= 0 || this.busy === undefined || this.lastEmitAt === Number.NEGATIVE_INFINITY) return false;
    return performance.now() - this.dueAt < max && this.busy();
  }

  /** Adds a token output (which may hold several model tokens); may emit synchronously. */
  push(tok: TokenOut): void {
    if (this.count > 0 && tok.agent !== this.agent) this.flush();
    this.text += tok.text;
    this.count += tok.count ?? 1;
    this.agent = tok.agent;
    this.index = tok.index;
    if (this.count >= this.opts.bufferSize || this.opts.flushIntervalMs === 0) {
      this.flush();
      return;
    }
    if (this.slot >= 0) return;
    const now = performance.now();
    const wait = this.lastEmitAt + this.opts.flushIntervalMs - now;
    this.dueAt = now + Math.max(0, wait);
    if (wait > 0) this.slot = this.wheel.schedule(wait, this.onDeadline);
    else if (this.holding()) this.slot = this.wheel.schedule(HOLD_RECHECK_MS, this.onDeadline);
    else this.flush();
  }

  /** Emits whatever is buffered. */
  flush(): void {
    this.cancel();
    if (this.count === 0) return;
    const out: TokenOut = { kind: 'token', text: this.text };
    if (this.agent !== undefined) out.agent = this.agent;
    if (this.index !== undefined) out.index = this.index;
    const tokens = this.count;
    if (this.count > 1) out.count = this.count;
    this.text = '';
    this.count = 0;
    this.lastEmitAt = performance.now();
    this.emit(out, tokens);
  }

  /** Drops the buffer and the pending flush (on abort). */
  dispose(): void {
    this.cancel();
    this.text = '';
    this.count = 0;
  }

  private cancel(): void {
    if (this.slot >= 0) this.wheel.cancel(this.slot, this.onDeadline);
    this.slot = -1;
  }
}
