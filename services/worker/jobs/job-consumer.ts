import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../../shared/logging/logger.js';

/**
 * Pulls jobs from one agent pool's shared durable consumers (one per JOBS partition,
 * docs/partitions.md), never holding more than `slots` jobs at once: a fetch asks only for slots
 * it has reserved, so no job waits in a local buffer while its ack deadline runs (which would
 * cause needless redeliveries). Free slots are shared fairly between the partitions: each fetch
 * loop takes its share of the free slots, and a loop that needs a slot queues behind the loops
 * already waiting (first come, first served), so a busy partition never starves a quiet one.
 */
export class JobConsumer {
  private running = 0;
  /** Slots held by outstanding fetches (not yet filled by a job). */
  private reserved = 0;
  /** Fetch loops holding a reservation. */
  private fetching = 0;
  private stopped = false;
  private readonly waiters: ((n: number) => void)[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly consumers: Consumer[];

  constructor(
    consumers: Consumer | Consumer[],
    private readonly slots: number,
    private readonly handle: (msg: JsMsg) => Promise<void>,
    private readonly log: Logger,
  ) {
    this.consumers = Array.isArray(consumers) ? consumers : [consumers];
  }

  get inFlight(): number {
    return this.running;
  }

  /** Runs until `stop()`; fetch errors (broker outage) are retried. */
  async run(): Promise<void> {
    await Promise.all(this.consumers.map((c) => this.loop(c)));
  }

  private free(): number {
    return this.slots - this.running - this.reserved;
  }

  /** Reserves this loop's share of the free slots (`idle` loops share them). */
  private take(free: number): number {
    const idle = Math.max(1, this.consumers.length - this.fetching);
    const n = Math.max(1, Math.min(256, Math.floor(free / idle)));
    this.reserved += n;
    this.fetching++;
    return n;
  }

  private acquire(): Promise<number> {
    const free = this.free();
    if (free > 0 && this.waiters.length === 0) return Promise.resolve(this.take(free));
    return new Promise((r) => this.waiters.push(r));
  }

  /** Hands free slots to waiting loops, in the order they started waiting. */
  private pump(): void {
    while (this.waiters.length > 0 && !this.stopped) {
      const free = this.free();
      if (free <= 0) return;
      this.waiters.shift()?.(this.take(free));
    }
  }

  private async loop(consumer: Consumer): Promise<void> {
    while (!this.stopped) {
      const n = await this.acquire();
      if (n === 0) break;
      let got = 0;
      try {
        if (this.stopped) break;
        const batch = await consumer.fetch({ max_messages: n, expires: 2_000 });
        for await (const msg of batch) {
          if (got >= n) {
            msg.nak(); // never more than reserved (the server does not send more; defensive)
            continue;
          }
          got++;
          this.reserved--;
          this.start(msg);
        }
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: String(err) }, 'job fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        this.reserved -= n - got;
        this.fetching--;
        this.pump();
      }
    }
  }

  private start(msg: JsMsg): void {
    this.running++;
    const p = this.handle(msg)
      .catch((err: unknown) => this.log.error({ err }, 'job handler failed'))
      .finally(() => {
        this.running--;
        this.active.delete(p);
        this.pump();
      });
    this.active.add(p);
  }

  /** Stops fetching and waits for running jobs to end (they stop on the shutdown signal). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w(0);
    await Promise.allSettled([...this.active]);
  }
}
