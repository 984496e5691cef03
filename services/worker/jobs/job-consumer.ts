import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../../shared/logging/logger.js';

/**
 * Pulls jobs from one agent pool's shared durable consumer, never holding more than `slots`
 * jobs at once: it fetches only as many as it has free slots, so no job waits in a local
 * buffer while its ack deadline runs (which would cause needless redeliveries).
 */
export class JobConsumer {
  private running = 0;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly active = new Set<Promise<void>>();

  constructor(
    private readonly consumer: Consumer,
    private readonly slots: number,
    private readonly handle: (msg: JsMsg) => Promise<void>,
    private readonly log: Logger,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  /** Runs until `stop()`; fetch errors (broker outage) are retried. */
  async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.slots - this.running;
      if (free <= 0) {
        await new Promise<void>((r) => {
          this.wake = r;
        });
        continue;
      }
      try {
        const batch = await this.consumer.fetch({ max_messages: Math.min(free, 256), expires: 2_000 });
        for await (const msg of batch) this.start(msg);
      } catch (err) {
        if (this.stopped) break;
        this.log.warn({ err: String(err) }, 'job fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 500));
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
        this.wake?.();
        this.wake = null;
      });
    this.active.add(p);
  }

  /** Stops fetching and waits for running jobs to end (they stop on the shutdown signal). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.allSettled([...this.active]);
  }
}
