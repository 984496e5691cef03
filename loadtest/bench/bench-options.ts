import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Every knob of a benchmark run; `--quick` and the full run are presets of it. */
export const BenchOptions = z.object({
  name: z.string().regex(/^[A-Za-z0-9_-]+$/),
  quick: z.boolean(),
  outDir: z.string(),
  /** Concurrent-stream steps of the fabric run (the baselines use the same steps). */
  steps: z.array(z.number().int().positive()).min(1),
  targets: z.array(z.enum(['fabric', 'socketio', 'uws', 'centrifugo'])).min(1),
  gateways: z.number().int().min(1).max(8),
  workers: z.number().int().min(1).max(16),
  /** Load-client processes. */
  clients: z.number().int().min(1).max(8),
  tokensPerSecond: z.number().positive(),
  flushIntervalMs: z.number().int().nonnegative(),
  /** Model tokens per session (each session gets 75-125 % of it). */
  length: z.number().int().positive(),
  thinkMs: z.number().int().nonnegative(),
  warmupS: z.number().positive(),
  measureS: z.number().positive(),
  /** New connections per second, all load clients together. */
  connectRate: z.number().positive(),
  /** Fraction of streams dropped at once after each fabric and Centrifugo step, to measure resume latency. */
  reconnectFraction: z.number().min(0).max(1),
  reconnectGapMs: z.number().int().nonnegative(),
  /** Idle-stream counts for the gateway memory measurement (0 = skip). */
  idleSteps: z.array(z.number().int().nonnegative()),
  checkEvery: z.number().int().positive(),
  /** Write CPU profiles of gateways and workers (node --cpu-prof) into the output dir. */
  profile: z.boolean(),
  /** nats-server nodes: 1 = standalone (R1), 3 or more = a JetStream cluster with R3 streams. */
  natsNodes: z.number().int().min(1).max(5),
  /**
   * NATS_PARTITIONS of each fabric run: the fabric target runs once per value, each on a fresh
   * backend (NATS, workers), under the same load, so one result compares them.
   */
  partitions: z.array(z.number().int().min(1).max(64)).min(1),
  verbose: z.boolean(),
});
export type BenchOptions = z.infer<typeof BenchOptions>;

const FULL = {
  steps: [100, 500, 1000, 2000, 5000, 10000],
  clients: 2,
  gateways: 2,
  workers: 2,
  length: 400,
  warmupS: 5,
  measureS: 15,
  connectRate: 1000,
  reconnectFraction: 0.1,
  idleSteps: [1000, 10000],
  checkEvery: 10,
};
const QUICK = {
  steps: [20, 50],
  clients: 1,
  gateways: 1,
  workers: 1,
  length: 60,
  warmupS: 1,
  measureS: 2.5,
  connectRate: 500,
  reconnectFraction: 0.2,
  idleSteps: [50],
  checkEvery: 2,
};

const list = (s: string | undefined) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;

/** Parses `npm run bench -- [--quick] [--steps 100,500] [--targets fabric,socketio,uws,centrifugo] ...`. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      name: { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      steps: { type: 'string' },
      targets: { type: 'string', default: 'fabric,socketio,uws,centrifugo' },
      gateways: { type: 'string' },
      workers: { type: 'string' },
      clients: { type: 'string' },
      tps: { type: 'string', default: '50' },
      flush: { type: 'string', default: '100' },
      length: { type: 'string' },
      think: { type: 'string', default: '0' },
      warmup: { type: 'string' },
      measure: { type: 'string' },
      'connect-rate': { type: 'string' },
      'reconnect-fraction': { type: 'string' },
      'reconnect-gap': { type: 'string', default: '500' },
      idle: { type: 'string' },
      'check-every': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'nats-nodes': { type: 'string', default: '1' },
      partitions: { type: 'string', default: '1' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const base = v.quick ? QUICK : FULL;
  const num = (s: string | undefined, d: number) => (s === undefined ? d : Number(s));
  return BenchOptions.parse({
    name: v.name ?? (v.quick ? 'quick' : 'full'),
    quick: v.quick,
    outDir: v.out,
    steps: list(v.steps)?.map(Number) ?? base.steps,
    targets: list(v.targets),
    gateways: num(v.gateways, base.gateways),
    workers: num(v.workers, base.workers),
    clients: num(v.clients, base.clients),
    tokensPerSecond: Number(v.tps),
    flushIntervalMs: Number(v.flush),
    length: num(v.length, base.length),
    thinkMs: Number(v.think),
    warmupS: num(v.warmup, base.warmupS),
    measureS: num(v.measure, base.measureS),
    connectRate: num(v['connect-rate'], base.connectRate),
    reconnectFraction: num(v['reconnect-fraction'], base.reconnectFraction),
    reconnectGapMs: Number(v['reconnect-gap']),
    idleSteps: list(v.idle)?.map(Number) ?? base.idleSteps,
    checkEvery: num(v['check-every'], base.checkEvery),
    profile: v.profile,
    natsNodes: Number(v['nats-nodes']),
    partitions: list(v.partitions)?.map(Number) ?? [1],
    verbose: v.verbose,
  });
}
