import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../../shared/logging/logger.js';

/**
 * Watches whether this gateway's NATS server can reach JetStream, and calls `recovered` when it
 * can again after it could not. Why: a server cut off from the cluster (a partition, a frozen
 * route) keeps our TCP connection open, so there is no reconnect to trigger a resync, yet the
 * republished events of that time never reach us; if the last one was `done`, no later event
 * would reveal the gap. One small API request per interval per gateway.
 */
export class JetStreamProbe {
  private timer: ReturnType<typeof setInterval> | undefined;
  private down = false;
  private busy = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly recovered: () => void,
    private readonly log: Logger,
    private readonly intervalMs = 1_000,
  ) {}

  start(): void {
    let jsm: JetStreamManager | undefined;
    this.timer = setInterval(() => {
      if (this.busy || this.nc.isClosed()) return;
      this.busy = true;
      void (async () => {
        try {
          jsm ??= await jetstreamManager(this.nc, { timeout: this.intervalMs * 2 });
          await jsm.getAccountInfo();
          if (this.down) {
            this.down = false;
            this.log.info('JetStream reachable again: resyncing live sessions from the log');
            this.recovered();
          }
        } catch (err) {
          if (!this.down) this.log.warn({ err: String(err) }, 'JetStream unreachable from this gateway');
          this.down = true;
        } finally {
          this.busy = false;
        }
      })();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
