import { abortableSleep } from '../agents/abortable-sleep.js';

/**
 * Caps a session's token rate (the seed's `max_tokens_per_second`). Each token is released no
 * sooner than one interval after the previous one, measured from when that one really went
 * out: a late timer or a slow model never earns a catch-up burst, so no window of a second
 * holds more than `tokensPerSecond` + 1 tokens. Tokens are only delayed, never dropped or
 * reordered, and the caller (the agent) waits with them: a paced session reads its model no
 * faster than it delivers.
 */
export class TokenPacer {
  private readonly intervalMs: number;
  private nextAt = Number.NEGATIVE_INFINITY;

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
    return this.intervalMs > 0 ? Math.max(0, this.nextAt - this.now()) : 0;
  }

  /** Records that a token went out now. */
  release(): void {
    if (this.intervalMs > 0) this.nextAt = Math.max(this.now(), this.nextAt) + this.intervalMs;
  }

  /**
   * Waits until the next token may go and takes its slot. Resolves false if `signal` aborted
   * first (the token is not released).
   */
  async admit(signal: AbortSignal): Promise<boolean> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      // Timers have 1 ms resolution: round up so a token never leaves early.
      if (!(await abortableSleep(Math.ceil(wait), signal))) return false;
    }
    this.release();
    return true;
  }
}
