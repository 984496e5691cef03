import { connect } from '@nats-io/transport-node';
import { prng } from '../../services/worker/agents/builtin-model.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { spreadLeaders } from '../../shared/nats/leaders.js';
import { setPartitionLayout } from '../../shared/nats/subjects.js';
import { ensurePython } from '../topology/bridge-process.js';
import { CheckingClient, type SessionCheck, type SessionSpec } from './checking-client.js';
import { FAULT_KINDS, FaultInjector, type FaultKind, type FaultRecord } from './faults.js';
import { BRIDGE_AGENT, startTopology } from './topology.js';

export interface ChaosOptions {
  seed: number;
  /** Sessions to run at least (more start while faults are still due). */
  sessions: number;
  /** Faults to inject at least. */
  faults: number;
  clients: number;
  /** Sessions each client runs at once. */
  concurrency: number;
  natsNodes: number;
  /** NATS_PARTITIONS of every gateway, worker and bridge (docs/partitions.md). */
  partitions: number;
  gateways: number;
  workers: number;
  /** AutoGen bridge workers (Python) next to the TypeScript workers; half the sessions use them. */
  bridgeWorkers: number;
  /** Worker ack deadline: how soon a lost worker's job is redelivered. */
  ackWaitMs: number;
  /** Fault kinds to inject (all by default). */
  kinds: readonly FaultKind[];
  /** Pause between faults, uniform in [min, max] ms. */
  faultIntervalMs: [number, number];
  /** A session not finished after this long counts as unfinished (its missing tail as lost). */
  sessionTimeoutMs: number;
  verbose: boolean;
  log: (line: string) => void;
}

export const DEFAULT_CHAOS: ChaosOptions = {
  seed: 1,
  sessions: 200,
  faults: 30,
  clients: 8,
  concurrency: 3,
  natsNodes: 3,
  partitions: 1,
  gateways: 2,
  workers: 3,
  bridgeWorkers: 0,
  ackWaitMs: 2_000,
  kinds: FAULT_KINDS,
  faultIntervalMs: [500, 2_000],
  sessionTimeoutMs: 120_000,
  verbose: false,
  log: () => undefined,
};

export interface ChaosReport {
  seed: number;
  startedAt: string;
  durationMs: number;
  topology: {
    natsNodes: number;
    partitions: number;
    gateways: number;
    workers: number;
    bridgeWorkers: number;
    clients: number;
  };
  sessions: number;
  /** Of `sessions`, those served by the AutoGen bridge workers. */
  bridgeSessions: number;
  events: number;
  faults: number;
  faultsByKind: Record<FaultKind, number>;
  lost: number;
  duplicated: number;
  reordered: number;
  textMismatch: number;
  unfinished: number;
  failed: number;
  restarts: number;
  reconnects: number;
  /** Welcome of the new connection to the first resumed event replayed from the log (the resume path). */
  reconnectToReplayMs: LatencySummary;
  /**
   * The five slowest of those, each with when its reconnect happened (ms since the run started, as
   * `faultLog[].at`) and the last fault injected before it: where a slow resume came from.
   */
  slowestReplays: { at: number; ms: number; client: string; sid: string; after?: FaultRecord }[];
  /** Every sample behind `reconnectToReplayMs` (ms, sorted), so runs can be pooled. */
  reconnectToReplaySamplesMs: number[];
  /** Welcome to the first event when nothing was waiting in the log (includes producer stalls). */
  reconnectToLiveMs: LatencySummary;
  /** Socket lost to the first resumed event (includes backoff): the outage a user sees. */
  outageMs: LatencySummary;
  faultLog: FaultRecord[];
  /** Sessions that did not pass, with what went wrong. */
  problems: SessionCheck[];
  /** P > 1 on a cluster: each partitioned stream's leader after the spread at start. */
  leaders?: { stream: string; leader: string }[];
  /** Warnings and errors the services logged (the first 300), for post-mortems. */
  serviceWarnings: Record<string, unknown>[];
}

export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** True when the run proved the invariants: nothing lost, duplicated, reordered or wrong. */
export function chaosPassed(r: ChaosReport): boolean {
  return r.lost + r.duplicated + r.reordered + r.textMismatch + r.unfinished + r.failed === 0;
}

/** One line of totals (what `npm run chaos` prints). */
export function chaosSummaryLine(r: ChaosReport): string {
  const kinds = FAULT_KINDS.map((k) => `${k}=${r.faultsByKind[k]}`).join(' ');
  return (
    `chaos seed=${r.seed} ${r.topology.partitions > 1 ? `partitions=${r.topology.partitions} ` : ''}sessions=${r.sessions} events=${r.events} faults=${r.faults} ` +
    (r.topology.bridgeWorkers > 0
      ? `bridge-workers=${r.topology.bridgeWorkers} bridge-sessions=${r.bridgeSessions} `
      : '') +
    `lost=${r.lost} duplicated=${r.duplicated} reordered=${r.reordered} ` +
    `text-mismatch=${r.textMismatch} unfinished=${r.unfinished} failed=${r.failed} ` +
    `restarts=${r.restarts} reconnects=${r.reconnects} ` +
    `reconnect-to-first-resumed-event p50=${r.reconnectToReplayMs.p50}ms p99=${r.reconnectToReplayMs.p99}ms ` +
    `n=${r.reconnectToReplayMs.n} (to next live event p50=${r.reconnectToLiveMs.p50}ms ` +
    `p99=${r.reconnectToLiveMs.p99}ms n=${r.reconnectToLiveMs.n}; outage p50=${r.outageMs.p50}ms ` +
    `p99=${r.outageMs.p99}ms) [${kinds}] ${Math.round(r.durationMs / 1000)}s`
  );
}

/**
 * Runs a chaos experiment: a real topology (NATS cluster, gateways, workers as processes),
 * checking clients running many sessions, and faults injected at random times until both the
 * session and the fault quotas are met. Workload and fault schedule come from separate PRNG
 * streams of `seed`, so a failing run can be replayed (timing aside).
 */
export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o = { ...DEFAULT_CHAOS, ...partial };
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const workload = prng(o.seed);
  const faultRand = prng(o.seed ^ 0x5bd1e995);
  if (o.bridgeWorkers > 0) ensurePython();
  const topology = await startTopology({
    natsNodes: o.natsNodes,
    gateways: o.gateways,
    workers: o.workers,
    bridgeWorkers: o.bridgeWorkers,
    env: { NATS_PARTITIONS: String(o.partitions) },
    verbose: o.verbose,
    gatewayEnv: { DRAIN_TIMEOUT_MS: '1000', STREAM_HEARTBEAT_INTERVAL: '2000' },
    workerEnv: { WORKER_ACK_WAIT_MS: String(o.ackWaitMs), WORKER_MAX_DELIVER: '50' },
  });
  let leaders: { stream: string; leader: string }[] | undefined;
  if (o.natsNodes > 1 && o.partitions > 1) {
    // As an operator would (`npm run nats:spread`): partition i led by node i before the faults.
    setPartitionLayout(o.partitions);
    try {
      const nc = await connect({ servers: topology.nats.urls.split(',') });
      try {
        const placement = await spreadLeaders(nc);
        leaders = placement.map((p) => ({ stream: p.stream, leader: p.leader }));
        o.log(`partition leaders: ${placement.map((p) => `${p.stream}@${p.leader}`).join(' ')}`);
      } finally {
        await nc.close();
      }
    } catch (err) {
      await topology.stop();
      throw err;
    }
  }
  const clients = Array.from({ length: o.clients }, (_, i) => {
    // Spread first connections over the gateways; every client knows them all.
    const urls = topology.gatewayUrls.map(
      (_, j) => topology.gatewayUrls[(i + j) % topology.gatewayUrls.length]!,
    );
    return new CheckingClient(`client${i + 1}`, urls);
  });
  const injector = new FaultInjector(topology, clients, faultRand, {
    ackWaitMs: o.ackWaitMs,
    kinds: o.kinds,
    log: o.log,
  });
  const checks: SessionCheck[] = [];
  let warnings: Record<string, unknown>[] = [];
  let next = 0;
  const nextSpec = (): SessionSpec | null => {
    if (next >= o.sessions && injector.records.length >= o.faults) return null;
    next++;
    return {
      seed: Math.floor(workload() * 2 ** 31),
      length: 60 + Math.floor(workload() * 180),
      tokensPerSecond: 30 + Math.floor(workload() * 50),
      flushIntervalMs: workload() < 0.5 ? 0 : 50,
      // Drawn only with bridges, so a seed replays the same workload without them.
      ...(o.bridgeWorkers > 0 && workload() < 0.5 ? { agent: BRIDGE_AGENT } : {}),
    };
  };
  try {
    let workDone = false;
    const work = Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: o.concurrency }, async () => {
          for (let spec = nextSpec(); spec; spec = nextSpec()) {
            const check = await c.run(spec, o.sessionTimeoutMs);
            checks.push(check);
            if (check.outcome !== 'done' || !check.textOk) o.log(`problem ${JSON.stringify(check)}`);
          }
        }),
      ),
    ).finally(() => {
      workDone = true;
    });
    while (!workDone) {
      const [min, max] = o.faultIntervalMs;
      await Promise.race([work, sleep(min + Math.floor(faultRand() * (max - min)))]);
      if (!workDone) await injector.injectOne();
    }
    await work;
    await injector.settle();
    await countLostTails(topology.nats.urls, checks, o.partitions);
  } finally {
    for (const c of clients) c.close();
    warnings = [...topology.gateways, ...topology.workers, ...topology.bridges]
      .flatMap((s) => s.allLogs())
      .filter((l) => Number(l.level) >= 40)
      .slice(0, 300);
    await topology.stop();
  }
  return {
    ...report(o, startedAt, performance.now() - started, checks, clients, injector.records, injector.started),
    ...(leaders ? { leaders } : {}),
    serviceWarnings: warnings,
  };
}

/** For sessions that never finished, the events the log holds past what the client received. */
async function countLostTails(natsUrls: string, checks: SessionCheck[], partitions: number): Promise<void> {
  const unfinished = checks.filter((c) => c.outcome === 'unfinished');
  if (unfinished.length === 0) return;
  const nc = await connect({ servers: natsUrls.split(',') });
  try {
    // This process reads the log too: the layout is the services' (a fresh cluster: no earlier one).
    setPartitionLayout(partitions);
    const log = await JetStreamEventLog.create(nc);
    for (const c of unfinished) {
      const last = await log.last('public', c.sid, { fromLeader: true });
      c.lost += Math.max(0, (last?.event.seq ?? 0) - c.events);
    }
  } finally {
    await nc.close();
  }
}

function report(
  o: ChaosOptions,
  startedAt: string,
  durationMs: number,
  checks: SessionCheck[],
  clients: CheckingClient[],
  faultLog: FaultRecord[],
  origin: number,
): Omit<ChaosReport, 'serviceWarnings'> {
  const sum = (f: (c: SessionCheck) => number) => checks.reduce((s, c) => s + f(c), 0);
  const faultsByKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const f of faultLog) faultsByKind[f.kind]++;
  return {
    seed: o.seed,
    startedAt,
    durationMs: Math.round(durationMs),
    topology: {
      natsNodes: o.natsNodes,
      partitions: o.partitions,
      gateways: o.gateways,
      workers: o.workers,
      bridgeWorkers: o.bridgeWorkers,
      clients: o.clients,
    },
    sessions: checks.length,
    bridgeSessions: checks.filter((c) => c.spec.agent !== undefined).length,
    events: sum((c) => c.events),
    faults: faultLog.length,
    faultsByKind,
    lost: sum((c) => c.lost),
    duplicated: sum((c) => c.duplicated),
    reordered: sum((c) => c.reordered),
    textMismatch: checks.filter((c) => c.outcome === 'done' && !c.textOk).length,
    unfinished: checks.filter((c) => c.outcome === 'unfinished').length,
    failed: checks.filter((c) => c.outcome === 'error' || c.outcome === 'cancelled').length,
    restarts: sum((c) => c.restarts),
    reconnects: clients.reduce((s, c) => s + c.reconnects, 0),
    reconnectToReplayMs: summarize(clients.flatMap((c) => c.replayLatencies)),
    slowestReplays: slowest(clients, faultLog, origin),
    reconnectToReplaySamplesMs: clients
      .flatMap((c) => c.replayLatencies)
      .map(Math.round)
      .sort((a, b) => a - b),
    reconnectToLiveMs: summarize(clients.flatMap((c) => c.liveLatencies)),
    outageMs: summarize(clients.flatMap((c) => c.outageLatencies)),
    faultLog,
    problems: checks.filter(
      (c) => c.outcome !== 'done' || !c.textOk || c.lost + c.duplicated + c.reordered > 0,
    ),
  };
}

function slowest(
  clients: CheckingClient[],
  faultLog: FaultRecord[],
  origin: number,
): ChaosReport['slowestReplays'] {
  const all = clients.flatMap((c) => c.replaySamples.map((r) => ({ ...r, client: c.name })));
  return all
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 5)
    .map((r) => {
      const at = Math.round(r.since - origin);
      const after = faultLog.filter((f) => f.at <= at).at(-1);
      return { at, ms: Math.round(r.ms), client: r.client, sid: r.sid, ...(after ? { after } : {}) };
    });
}

function summarize(values: number[]): LatencySummary {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0);
  return { n: s.length, p50: at(0.5), p99: at(0.99), max: Math.round(s.at(-1) ?? 0) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
