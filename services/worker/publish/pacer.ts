import { abortableSleep } from '../agents/abortable-sleep.js';

/**
 * How far behind schedule a token may go out and still keep its slot (ms). Timers fire a
 * little late, more so on a busy machine; without this slack every late wake-up would push
 * the whole schedule back and a 200 tokens/s cap would deliver ~150/s. With it, a window of
 * one second holds at most `rate * (1 + SLACK_MS / 1000) + 1` tokens (2% + 1 over the cap).
 */
export const PACER_SLACK_MS = 20;

/**
 * Caps a session's token rate (the seed's `max_tokens_per_second`) with a virtual schedule
 * (GCRA): token k may leave no sooner than its slot, and slots are `1000 / rate` ms apart.
 * A token that leaves late keeps its slot when it is less than PACER_SLACK_MS late, else the
 * schedule restarts from it: a slow model or a stalled process never earns a catch-up burst.
 * Tokens are only delayed, never dropped or reordered, and the agent waits with them: a paced
 * session reads its model no faster than it delivers.
 */
export class TokenPacer {
  private readonly intervalMs: number;
  /** The earliest time the next token may leave (undefined before the first token). */
  private slot: number | undefined;

  constructor(
    /** 0 = no cap. */
    tokensPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.intervalMs = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
  }

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  /** Ms until the next token may go (0 = now). */
  waitMs(): number {
    return this.intervalMs > 0 && this.slot !== undefined ? Math.max(0, this.slot - this.now()) : 0;
  }

  /** Records that `n` tokens went out now (an output may hold several): they take `n` slots. */
  release(n = 1): void {
    if (this.intervalMs === 0) return;
    const now = this.now();
    const base = this.slot === undefined ? now : Math.max(this.slot, now - PACER_SLACK_MS);
    this.slot = base + this.intervalMs * n;
  }

  /**
   * Waits until the next token may go and takes its slot. Resolves false if `signal` aborted
   * first (the token is not released).
   */
  async admit(signal: AbortSignal, n = 1): Promise<boolean> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      // Timers have 1 ms resolution: round up so a token never leaves before its slot.
      if (!(await abortableSleep(Math.ceil(wait), signal))) return false;
    }
    this.release(n);
    return true;
  }
}
