import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../client/src/index.js';
import { builtinTokens } from '../services/worker/agents/builtin-model.js';
import { PACER_SLACK_MS } from '../services/worker/publish/pacer.js';
import type { SessionEvent } from '../shared/protocol/index.js';
import { startNats } from './topology/nats-process.js';
import { killAllServices, spawnService } from './topology/service-process.js';

/**
 * `npm run bench:pacing`: how closely the per-session rate cap (`maxTokensPerSecond`) holds,
 * end to end through nats-server, a gateway and a worker. The built-in model runs unpaced (as
 * fast as it can), so only the pacer limits the rate. For every session it counts the model
 * tokens in each event and finds the busiest one-second window, by the worker's publish time
 * (`ts`) and by the client's receive time. Writes bench/results/pacing-<date>.json.
 */

interface Case {
  cap: number;
  sessions: number;
  flushIntervalMs: number;
}

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 3);
const CASES: Case[] = [
  { cap: 10, sessions: 1, flushIntervalMs: 0 },
  { cap: 50, sessions: 1, flushIntervalMs: 0 },
  { cap: 200, sessions: 1, flushIntervalMs: 0 },
  { cap: 10, sessions: 20, flushIntervalMs: 50 },
  { cap: 50, sessions: 20, flushIntervalMs: 50 },
  { cap: 200, sessions: 20, flushIntervalMs: 50 },
  { cap: 1000, sessions: 5, flushIntervalMs: 50 },
];

/** One received event: when, and how many model tokens it carried. */
interface Sample {
  ts: number;
  recvAt: number;
  tokens: number;
}

/** Most tokens in any window of `windowMs` starting at an event (two-pointer sweep; times sorted). */
export function maxInWindow(times: number[], counts: number[], windowMs = 1000): number {
  let best = 0;
  let sum = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    while (end < times.length && times[end]! - times[start]! < windowMs) sum += counts[end++]!;
    best = Math.max(best, sum);
    sum -= counts[start]!;
  }
  return best;
}

/** Splits each event's text back into the model tokens it holds (the seed's tokens are known). */
function toSamples(events: { ev: SessionEvent; recvAt: number }[], expected: string[]): Sample[] {
  const samples: Sample[] = [];
  let next = 0;
  for (const { ev, recvAt } of events) {
    if (ev.type !== 'token') continue;
    let rest = ev.text;
    let n = 0;
    while (rest.length > 0 && next < expected.length && rest.startsWith(expected[next]!)) {
      rest = rest.slice(expected[next]!.length);
      next++;
      n++;
    }
    if (rest.length > 0) throw new Error(`event text does not match the model's tokens at token ${next}`);
    samples.push({ ts: ev.ts, recvAt, tokens: n });
  }
  if (next !== expected.length) throw new Error(`got ${next} of ${expected.length} tokens`);
  return samples;
}

async function runSession(client: StreamFabricClient, c: Case, seed: number) {
  const length = Math.ceil(c.cap * DURATION_S);
  const events: { ev: SessionEvent; recvAt: number }[] = [];
  const session = await client.start({
    input: `pacing ${seed}`,
    options: {
      seed,
      length,
      tokensPerSecond: 0,
      maxTokensPerSecond: c.cap,
      flushIntervalMs: c.flushIntervalMs,
    },
  });
  session.on('*', (ev) => events.push({ ev, recvAt: Date.now() }));
  const end = await session.finishedEvent();
  if (end.type !== 'done') throw new Error(`session ended with ${end.type}`);
  const samples = toSamples(events, builtinTokens(seed, length));
  const first = samples[0]!;
  const lastS = samples.at(-1)!;
  // The first event's tokens went out at the start of the span: count only those after it.
  const rate = ((length - first.tokens) * 1000) / Math.max(1, lastS.ts - first.ts);
  const byTs = maxInWindow(
    samples.map((s) => s.ts),
    samples.map((s) => s.tokens),
  );
  const byRecv = maxInWindow(
    samples.map((s) => s.recvAt),
    samples.map((s) => s.tokens),
  );
  return { rate, byTs, byRecv, events: samples.length };
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

async function main(): Promise<void> {
  const log = (m: string) => process.stderr.write(`[bench:pacing] ${m}\n`);
  const nats = await startNats({});
  const env = { NATS_URL: nats.urls, STREAM_LOG_LEVEL: 'warn' };
  try {
    const gw = await spawnService('gateway', {
      env: { ...env, WEBSOCKET_PORT: '0', STREAM_LOG_LEVEL: 'info' },
    });
    await spawnService('worker', { env: { ...env, STREAM_LOG_LEVEL: 'info' } });
    const client = new StreamFabricClient({
      url: `ws://127.0.0.1:${gw.port}/v1/ws`,
      WebSocket: WebSocket as never,
    });
    const results = [];
    let seed = 1;
    for (const c of CASES) {
      const t0 = performance.now();
      const runs = await Promise.all(Array.from({ length: c.sessions }, () => runSession(client, c, seed++)));
      const worstTs = Math.max(...runs.map((r) => r.byTs));
      const worstRecv = Math.max(...runs.map((r) => r.byRecv));
      const meanRate = runs.reduce((s, r) => s + r.rate, 0) / runs.length;
      const row = {
        ...c,
        tokensPerSession: Math.ceil(c.cap * DURATION_S),
        wallMs: Math.round(performance.now() - t0),
        meanRate: round(meanRate, 1),
        meanRateVsCap: round(meanRate / c.cap),
        maxTokensIn1sByPublishTs: worstTs,
        maxTokensIn1sByReceiveTime: worstRecv,
        toleranceByPublishTs: round(worstTs / c.cap - 1),
        toleranceByReceiveTime: round(worstRecv / c.cap - 1),
        eventsPerSession: round(runs.reduce((s, r) => s + r.events, 0) / runs.length, 1),
      };
      log(JSON.stringify(row));
      results.push(row);
    }
    client.close();
    const date = new Date().toISOString().slice(0, 10);
    const dir = resolve('bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `pacing-${date}.json`);
    const report = {
      bench: 'pacing',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      durationPerSessionS: DURATION_S,
      note: `tolerance = busiest 1 s window / cap - 1; the pacer allows cap * (1 + ${PACER_SLACK_MS} ms / 1 s) + 1 per window; coalescing can bunch up to flushIntervalMs more`,
      results,
    };
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    killAllServices();
    await nats.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:pacing failed: ${(err as Error).stack ?? String(err)}\n`);
    killAllServices();
    process.exit(1);
  },
);
