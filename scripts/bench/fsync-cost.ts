import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startNats } from '../topology/nats-process.js';

/**
 * `npm run bench:fsync`: what `sync_interval: always` (deploy/ configs, per DESIGN's Jepsen
 * note) costs against the default lazy fsync, on a 3-node cluster with an R3 file stream:
 * acked publish latency one at a time, and throughput with 256 publishes in flight.
 * Writes bench/results/fsync-cost.json. Numbers are for this machine's disk and load.
 */
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 2_000);
const PIPELINED = Number(process.env.BENCH_PIPELINED ?? 20_000);
const WINDOW = 256;
const payload = new TextEncoder().encode(
  JSON.stringify({ type: 'token', sid: 's_benchbenchbench', seq: 1, ts: 0, text: 'x'.repeat(120) }),
);

async function measure(mode: 'default' | 'always') {
  const nats = await startNats({
    nodes: 3,
    ...(mode === 'always' ? { jetstreamExtra: 'sync_interval: always' } : {}),
  });
  try {
    const nc = await connect({ servers: nats.urls.split(',') });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: 'BENCH',
      subjects: ['bench.>'],
      storage: StorageType.File,
      num_replicas: 3,
    });
    const js = jetstream(nc);
    for (let i = 0; i < 200; i++) await js.publish('bench.warm', payload); // leader elected, files open
    const lat: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      await js.publish('bench.seq', payload);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    const t0 = performance.now();
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < PIPELINED; i++) {
      const p = js.publish('bench.pipe', payload).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= WINDOW) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const seconds = (performance.now() - t0) / 1000;
    await nc.close();
    const q = (p: number) =>
      Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! * 1000) / 1000;
    return {
      ackLatencyMs: { p50: q(0.5), p99: q(0.99) },
      pipelinedMsgsPerSecond: Math.round(PIPELINED / seconds),
    };
  } finally {
    await nats.stop();
  }
}

async function main(): Promise<void> {
  const results = {
    what: '3-node nats-server cluster on one machine, R3 file stream, 180-byte messages',
    sequential: SEQUENTIAL,
    pipelined: { messages: PIPELINED, window: WINDOW },
    default: await measure('default'),
    always: await measure('always'),
  };
  const out = resolve('bench/results/fsync-cost.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
