import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { killAllServices } from '../topology/service-process.js';
import { FAULT_KINDS, type FaultKind } from './faults.js';
import { chaosPassed, chaosSummaryLine, DEFAULT_CHAOS, runChaos } from './run-chaos.js';

/**
 * `npm run chaos -- [--seed N] [--sessions 200] [--faults 30] [--clients 8] [--concurrency 3]
 * [--gateways 2] [--workers 3] [--partitions 3] [--bridge-workers 0] [--kinds gateway-kill,nats-kill,...] [--verbose]`:
 * runs the chaos experiment, prints one line of totals,
 * writes bench/results/chaos-<date>.json and exits non-zero unless nothing was lost, duplicated
 * or reordered. Replay a failing run with its --seed.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      sessions: { type: 'string' },
      faults: { type: 'string' },
      clients: { type: 'string' },
      concurrency: { type: 'string' },
      gateways: { type: 'string' },
      // NATS_PARTITIONS of every service (the 3-node cluster spreads the partition leaders).
      partitions: { type: 'string' },
      workers: { type: 'string' },
      // AutoGen bridge workers (Python, .venv/) mixed in: half the sessions go to their agent.
      'bridge-workers': { type: 'string' },
      kinds: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
  const seed = num(values.seed, Math.floor(Math.random() * 2 ** 31));
  const log = (line: string) => {
    if (!values.quiet) process.stderr.write(`[chaos] ${line}\n`);
  };
  log(`seed ${seed} (replay with --seed ${seed})`);
  const report = await runChaos({
    seed,
    sessions: num(values.sessions, DEFAULT_CHAOS.sessions),
    faults: num(values.faults, DEFAULT_CHAOS.faults),
    clients: num(values.clients, DEFAULT_CHAOS.clients),
    concurrency: num(values.concurrency, DEFAULT_CHAOS.concurrency),
    gateways: num(values.gateways, DEFAULT_CHAOS.gateways),
    partitions: num(values.partitions, DEFAULT_CHAOS.partitions),
    workers: num(values.workers, DEFAULT_CHAOS.workers),
    bridgeWorkers: num(values['bridge-workers'], DEFAULT_CHAOS.bridgeWorkers),
    kinds: values.kinds ? parseKinds(values.kinds) : DEFAULT_CHAOS.kinds,
    verbose: values.verbose,
    log,
  });
  const dir = resolve('bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `chaos-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(chaosSummaryLine(report));
  log(`results: ${file}`);
  process.exit(chaosPassed(report) ? 0 : 1);
}

function parseKinds(list: string): FaultKind[] {
  const kinds = list.split(',').map((k) => k.trim());
  for (const k of kinds)
    if (!FAULT_KINDS.includes(k as FaultKind))
      throw new Error(`unknown fault kind ${k} (${FAULT_KINDS.join(', ')})`);
  return kinds as FaultKind[];
}

process.on('SIGINT', () => {
  killAllServices();
  process.exit(130);
});
main().catch((err: unknown) => {
  killAllServices();
  process.stderr.write(`chaos failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
