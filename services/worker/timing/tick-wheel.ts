/**
 * One timer for many deadlines. Thousands of sessions each wanting "call me in ~20-100 ms"
 * (token pacing, coalescing flushes) would otherwise arm and clear thousands of timers per
 * second; the wheel keeps one interval running while anything is due, and runs every callback
 * whose deadline fell in a tick together. Deadlines are rounded UP to the tick: a callback never
 * runs early, and at most `tickMs` late (plus event-loop lag).
 */
export class TickWheel {
  private readonly slots = new Map<number, Set<() => void>>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastTick: number;

  constructor(
    readonly tickMs = 5,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastTick = Math.floor(this.now() / tickMs);
  }

  /** Runs `fn` once, `delayMs` from now (rounded up to the tick). Returns its slot for `cancel`. */
  schedule(delayMs: number, fn: () => void): number {
    if (!this.timer) {
      this.lastTick = Math.floor(this.now() / this.tickMs);
      this.timer = setInterval(() => this.run(), this.tickMs);
      this.timer.unref();
    }
    const tick = Math.max(this.lastTick + 1, Math.ceil((this.now() + Math.max(0, delayMs)) / this.tickMs));
    let slot = this.slots.get(tick);
    if (!slot) {
      slot = new Set();
      this.slots.set(tick, slot);
    }
    slot.add(fn);
    return tick;
  }

  /** Forgets a scheduled callback (the slot returned by `schedule`). */
  cancel(tick: number, fn: () => void): void {
    const slot = this.slots.get(tick);
    if (slot?.delete(fn) && slot.size === 0) this.slots.delete(tick);
  }

  /** A promise resolved after `delayMs` (not abortable: callers check their signal on wake-up). */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.schedule(delayMs, resolve));
  }

  /** Callbacks waiting (for tests and metrics). */
  get pending(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.size;
    return n;
  }

  private run(): void {
    const nowTick = Math.floor(this.now() / this.tickMs);
    for (let t = this.lastTick + 1; t <= nowTick; t++) {
      // Advance first: a callback that schedules again lands in a later tick, never a spent one.
      this.lastTick = t;
      const slot = this.slots.get(t);
      if (!slot) continue;
      this.slots.delete(t);
      for (const fn of slot) fn();
    }
    if (this.slots.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** The worker's shared wheel (one per process). */
export const workerWheel = new TickWheel(5);
