import { describe, expect, it } from 'vitest';
import { runSlowConsumers } from '../../scripts/bench/slow-consumers.js';

// The short form of `npm run bench:slow-consumers` (which measures 100 stalled clients).
describe('slow consumers - the log is the buffer', () => {
  it('clients that stop reading get a bounded share of gateway memory, healthy streams flow, and readers get everything in order', async () => {
    const r = await runSlowConsumers({
      stalled: 10,
      bigSessions: 10,
      maxBackpressureBytes: 256 * 1024,
      healthySessions: 5,
      log: () => undefined,
    });
    console.log(`slow consumers: ${JSON.stringify(r)}`);
    // Each client asked for ~6.5 MB, more than its kernel socket buffers hold (~4 MB on loopback):
    // the gateway had to hold sessions back.
    expect(r.backpressurePauses).toBeGreaterThanOrEqual(r.stalled);
    // Bytes queued for stalled clients stay within the documented bound (per connection: the mark,
    // one event and a little room for heartbeats).
    expect(r.sendBufferBytes).toBeLessThanOrEqual(r.boundBytes);
    // Healthy sessions on the same gateway complete exactly and are not held up (generous for a loaded machine).
    expect(r.healthyLatencyMs.p99).toBeLessThan(1_000);
    // Once they read again, every stalled client gets every event of every session in order, with the exact text.
    expect(r.allInOrder).toBe(true);
  }, 240_000);
});
