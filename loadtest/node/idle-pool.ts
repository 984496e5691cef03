import type { LoadProfile } from './load-types.js';
import { createTransportFor, type LoadTransport } from './transport.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Idle streams for the gateway memory measurement: each connection follows a session whose model
 * thinks for minutes, so it is subscribed but receives no events.
 */
export class IdlePool {
  private readonly transports: LoadTransport[] = [];

  constructor(private readonly p: LoadProfile) {}

  get size(): number {
    return this.transports.length;
  }

  /** Opens `n` more idle streams (in bursts of 200); resolves once every start was answered. */
  async open(n: number, thinkMs: number): Promise<{ idle: number; failed: number }> {
    let failed = 0;
    const replies: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 200 === 199) await sleep(100);
      const index = this.transports.length + i;
      const t = createTransportFor(this.p, index);
      replies.push(
        t.open().then(
          () =>
            new Promise<void>((resolve) => {
              this.transports.push(t);
              t.onFrame = (f) => {
                if (f.type !== 'reply') return;
                if (!f.ok) failed++;
                resolve();
              };
              const sid = `idle${this.p.clientIndex}_${index}_${Date.now().toString(36)}`;
              t.start({ sid, input: 'idle', options: { length: 1, thinkMs } });
            }),
          () => {
            failed++;
          },
        ),
      );
    }
    await Promise.all(replies);
    return { idle: this.transports.length, failed };
  }

  close(): void {
    for (const t of this.transports.splice(0)) {
      t.onClose = () => undefined;
      t.close();
    }
  }
}
