import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { rssBytes, startSession } from './helpers.js';

const MAX_BACKPRESSURE_BYTES = 256 * 1024; // the default, stated here so the bound below is explicit
const STALLED = 100;
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: { MAX_BACKPRESSURE_BYTES: String(MAX_BACKPRESSURE_BYTES) },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${fabric.httpUrl(0)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

describe('slow consumers - the log is the buffer', () => {
  it(`${STALLED} clients that stop reading cost a bounded amount of gateway memory, then get everything in order`, async () => {
    // Two big finished sessions (~650 KB of text each, ~7 KB per event): each stalled client
    // asks for both, far more than the socket buffers and the high-water mark hold.
    const producer = await RawClient.connect(fabric.wsUrl(0));
    const big = [
      { seed: 41, length: 100_000 },
      { seed: 42, length: 100_000 },
    ];
    const sids = await Promise.all(
      big.map((b, i) =>
        startSession(producer, `big${i}`, {
          seed: b.seed,
          length: b.length,
          tokensPerSecond: 0,
          bufferSize: 1_000,
          flushIntervalMs: 10_000,
        }),
      ),
    );
    for (const sid of sids) await producer.finished(sid, 60_000);
    producer.close();
    const gw = fabric.gateways[0]!.process.pid!;
    const rssBefore = rssBytes(gw);

    const stalled = await Promise.all(
      Array.from({ length: STALLED }, () => RawClient.connect(fabric.wsUrl(0))),
    );
    for (const c of stalled) {
      for (const sid of sids) c.send({ type: 'resume', sid, after: 0 });
      c.ws.pause(); // stop reading: the kernel buffers fill, then the gateway's
    }
    // Every session of every stalled client pauses on the high-water mark.
    await waitFor(
      async () => (await gauge('streamfabric_gateway_backpressure_pauses_total')) >= STALLED * 2,
      {
        timeoutMs: 60_000,
        what: 'every stalled session to pause',
      },
    );
    // Healthy streams on the same gateway, while the stalled clients hold their buffers.
    const healthy = await RawClient.connect(fabric.wsUrl(0));
    const latencies: number[] = [];
    healthy.ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as { ts?: number; seq?: number };
      if (typeof f.seq === 'number' && typeof f.ts === 'number') latencies.push(Date.now() - f.ts);
    });
    const live = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        startSession(healthy, `h${i}`, {
          seed: 60 + i,
          length: 100,
          tokensPerSecond: 40,
          flushIntervalMs: 0,
        }),
      ),
    );
    for (const [i, sid] of live.entries()) {
      const events = await healthy.finished(sid, 60_000);
      assertContiguous(events);
      expect(tokenText(events)).toBe(builtinText(60 + i, 100));
    }
    healthy.close();

    const buffered = await gauge('streamfabric_gateway_send_buffer_bytes');
    const rssStalled = rssBytes(gw);
    const maxEventBytes = 16 * 1024;
    const bound = STALLED * (MAX_BACKPRESSURE_BYTES + maxEventBytes);
    const report = {
      stalledClients: STALLED,
      maxBackpressureBytes: MAX_BACKPRESSURE_BYTES,
      sendBufferBytes: buffered,
      boundBytes: bound,
      rssBeforeMB: +(rssBefore / 2 ** 20).toFixed(1),
      rssStalledMB: +(rssStalled / 2 ** 20).toFixed(1),
      rssGrowthMB: +((rssStalled - rssBefore) / 2 ** 20).toFixed(1),
      healthyLatencyP50Ms: percentile(latencies, 50),
      healthyLatencyP99Ms: percentile(latencies, 99),
    };
    console.log(`slow consumers: ${JSON.stringify(report)}`);
    // Bytes queued for clients stay under the documented bound (per connection: the mark plus one event).
    expect(buffered).toBeLessThanOrEqual(bound);
    // Without the bound, the gateway would have queued the rest of both sessions (~1.1 MB per client,
    // >100 MB in total): RSS growth stays far below that.
    expect(rssStalled - rssBefore).toBeLessThan(bound + 48 * 2 ** 20);
    // Healthy sessions were not held up by the stalled ones (generous: a loaded 2-core machine).
    expect(percentile(latencies, 99)).toBeLessThan(1_000);

    // Reading again: every stalled client gets both sessions in order, exactly once, complete.
    for (const c of stalled) c.ws.resume();
    for (const c of stalled) {
      for (const [i, sid] of sids.entries()) {
        const events = await c.finished(sid, 60_000);
        assertContiguous(events);
        expect(tokenText(events).length).toBe(builtinText(big[i]!.seed, big[i]!.length).length);
      }
    }
    expect(tokenText(stalled[0]!.events(sids[0]!))).toBe(builtinText(41, 100_000));
    for (const c of stalled) c.close();
  }, 180_000);
});
