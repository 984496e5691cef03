import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createGatewayMetrics } from '../../services/gateway/gateway-metrics.js';
import { createWorkerMetrics } from '../../services/worker/worker-metrics.js';
import { createRegistry } from '../../shared/metrics/registry.js';

/**
 * `npm run bench:metrics`: what the metrics cost on the hot paths, in CPU nanoseconds per
 * call, and what one scrape costs. Writes bench/results/metrics-overhead.json.
 */
async function main(): Promise<void> {
  const g = createGatewayMetrics(createRegistry('gateway', 'bench'));
  const wReg = createRegistry('worker', 'bench');
  const w = createWorkerMetrics(wReg);
  const N = 2_000_000;
  const now = Date.now();
  // The gateway's per-event observer body (gateway-app.ts), exactly.
  const delivered = (n: number, producedAt: number | undefined, tokens: number, replayed: boolean) => {
    (replayed ? g.eventsReplayed : g.eventsLive).inc(n);
    if (tokens > 0) g.tokensDelivered.inc(tokens);
    if (producedAt !== undefined) g.latency.observe(Math.max(0, Date.now() - producedAt) / 1000);
  };
  const time = (fn: (i: number) => void) => {
    for (let i = 0; i < 100_000; i++) fn(i); // warm-up
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) fn(i);
    const t = process.cpuUsage(t0);
    return Math.round(((t.user + t.system) * 1000) / N);
  };
  const results = {
    what: 'CPU ns per call of the hot-path metric updates, and ms per scrape',
    node: process.version,
    calls: N,
    gatewayLiveEventNs: time((i) => delivered(1, now - (i % 50), 4, false)),
    gatewayReplayedEventNs: time(() => delivered(1, undefined, 4, true)),
    workerTokenNs: time(() => w.tokens.inc()),
    scrapeMs: 0,
  };
  for (let i = 0; i < 10; i++) await wReg.metrics();
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) await wReg.metrics();
  results.scrapeMs = Math.round((performance.now() - t0) * 10) / 1000;
  const out = resolve('bench/results/metrics-overhead.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
