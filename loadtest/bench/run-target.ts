import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HistogramSummary } from '../node/histogram.js';
import type { Totals } from '../node/load-client.js';
import type { SeqFaults } from '../node/seq-checker.js';
import type { TransportKind } from '../node/transport.js';
import type { BenchOptions } from './bench-options.js';
import {
  type Backend,
  type BenchTopology,
  startCentrifugoTopology,
  startFabricTopology,
  startSocketIoTopology,
  startUwsTopology,
  type TopologyOptions,
} from './bench-topology.js';
import type { RestartCheck } from './centrifugo-restart.js';
import { LoadDriver } from './load-driver.js';
import type { IdleResult } from './measure-idle.js';
import { clusterSnapshot, type NodeShare, nodeShares, type StreamRate, streamRates } from './nats-nodes.js';
import { type NatsStats, natsStats } from './nats-stats.js';
import { cpuSnapshot, loadAverage, machineBusySeconds, rssSnapshot } from './proc-stats.js';

export type Target = BenchOptions['targets'][number];

/** One step of one target: N concurrent streams held for the measurement window. */
export interface StepResult {
  streams: number;
  openFailed: number;
  rampS: number;
  measureS: number;
  eventsPerSec: number;
  latency: HistogramSummary;
  ttft: HistogramSummary;
  /** After a reconnect storm (fabric and Centrifugo): resume sent -> first missed event. */
  resume?: HistogramSummary & { dropped: number };
  sessionsDone: number;
  sessionErrors: number;
  requestErrors: number;
  errorCodes: Record<string, number>;
  /** Faults that appeared during this step (ramp, window and reconnect storm). */
  faults: SeqFaults;
  /** CPU cores used during the window, by role (gateway = the gateway tier of the target). */
  cpuCores: Record<string, number>;
  /** CPU microseconds per delivered event: gateway tier alone, and the server side in total. */
  cpuUsPerEvent: { gatewayTier: number; serverTotal: number; loadgen: number };
  rssMB: Record<string, number>;
  /** Gateway-tier RSS growth since before the first step, per active stream (KB). */
  gatewayKBPerActiveStream: number;
  nats?: NatsStats & { inMsgsPerSec: number };
  /** Per NATS node during the window: leader share of the writes, stored events, CPU. */
  natsNodes?: NodeShare[];
  /** Streams written to during the window, busiest first, with their leader. */
  streamWrites?: StreamRate[];
  /**
   * The whole machine during the window: busy cores of every process, the part that was not
   * this benchmark's processes (other people's work on a shared box), and the load average.
   * Latencies measured while `otherCores` is high say more about the box than about the fabric.
   */
  machine: { busyCores: number; otherCores: number; loadAvg1: number };
  /** p99 < 200 ms with no fault, no failed connection and no refused request. */
  held: boolean;
}

export interface TargetResult {
  target: Target;
  /** Set when the run used a NATS cluster or partitions: nodes and NATS_PARTITIONS of this run. */
  natsNodes?: number;
  partitions?: number;
  /** P > 1 on a cluster: where the partitions' leaders were put before the load (stream, leader, wanted). */
  leaders?: { stream: string; leader: string; wanted: string }[];
  steps: StepResult[];
  idle: IdleResult[];
  drain: { unfinished: number };
  totals: Totals;
  faults: SeqFaults;
  mismatchSample?: string;
  /** Most streams held at p99 < 200 ms (0 = none). */
  knee: number;
  /** What the target's stored stream survives (Centrifugo: a restart of its memory engine). */
  survives?: RestartCheck;
}

/** Targets whose clients resume after a dropped connection (the baselines without history do not). */
const RESUMES = new Set<Target>(['fabric', 'centrifugo']);

function transportKind(t: Target): TransportKind {
  return t === 'socketio' || t === 'centrifugo' ? t : 'fabric';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/**
 * nats-server's CPU profile over the measurement window (Go pprof, `go tool pprof -top` reads it),
 * written next to the Node profiles. Best effort: a failed fetch is logged, the run goes on.
 */
async function natsCpuProfile(port: number, o: BenchOptions, target: string, streams: number): Promise<void> {
  const seconds = Math.max(1, Math.floor(o.measureS));
  try {
    const r = await fetch(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=${seconds}`);
    const dir = resolve(o.outDir, `profiles-${o.name}`, 'nats');
    mkdirSync(dir, { recursive: true });
    writeFileSync(resolve(dir, `${target}-${streams}.pprof`), Buffer.from(await r.arrayBuffer()));
  } catch (err) {
    log(`nats profile failed: ${String(err)}`);
  }
}

function diffFaults(a: SeqFaults, b: SeqFaults): SeqFaults {
  return {
    lost: a.lost - b.lost,
    duplicated: a.duplicated - b.duplicated,
    reordered: a.reordered - b.reordered,
  };
}

/** Process options of the run (the backend is started once from these). */
export function topologyOptions(o: BenchOptions, partitions = o.partitions[0]!): TopologyOptions {
  const maxStreams = Math.max(...o.steps);
  const concurrency = Math.ceil((maxStreams * 1.5 + Math.max(0, ...o.idleSteps)) / o.workers) + 100;
  const topo: TopologyOptions = {
    natsNodes: o.natsNodes,
    partitions,
    gateways: o.gateways,
    workers: o.workers,
    workerEnv: { STREAM_FLUSH_INTERVAL: String(o.flushIntervalMs), WORKER_CONCURRENCY: String(concurrency) },
    gatewayEnv: {},
    workerArgs: [],
    gatewayArgs: [],
    verbose: o.verbose,
  };
  if (o.profile) {
    const dir = (role: string) => [
      '--cpu-prof',
      `--cpu-prof-dir=${resolve(o.outDir, `profiles-${o.name}`, role)}`,
    ];
    topo.workerArgs = dir('worker');
    topo.gatewayArgs = dir('gateway');
    topo.natsProfile = true;
  }
  return topo;
}

function startTopology(
  target: Target,
  o: BenchOptions,
  backend: Backend | null,
  partitions: number,
): Promise<BenchTopology> {
  if (target === 'uws') return startUwsTopology();
  if (target === 'centrifugo') return startCentrifugoTopology(topologyOptions(o));
  if (!backend) throw new Error(`${target} needs the NATS + workers backend`);
  return target === 'fabric'
    ? startFabricTopology(backend, topologyOptions(o, partitions))
    : startSocketIoTopology(backend);
}

/** Runs every step against one target (the fabric or a baseline) and measures it. */
export async function runTarget(
  target: Target,
  o: BenchOptions,
  backend: Backend | null,
  partitions = o.partitions[0]!,
): Promise<TargetResult> {
  const clustered = backend !== null && (o.natsNodes > 1 || o.partitions.length > 1 || partitions > 1);
  const tag = clustered ? `${target} P=${partitions}` : target;
  log(`${tag}: starting topology`);
  const topo = await startTopology(target, o, backend, partitions);
  const driver = await LoadDriver.start(
    {
      kind: transportKind(target),
      urls: topo.urls,
      ...(topo.startUrls ? { startUrls: topo.startUrls } : {}),
      length: o.length,
      tokensPerSecond: o.tokensPerSecond,
      flushIntervalMs: o.flushIntervalMs,
      thinkMs: o.thinkMs,
      checkEvery: o.checkEvery,
      connectRate: o.connectRate / o.clients,
    },
    o.clients,
  );
  const roles = { ...topo.roles, loadgen: driver.pids };
  const monitor = topo.nats?.nodes[0]?.monitorPort;
  // Per NATS node: which streams it leads, what it stores, its CPU (only with a NATS backend).
  const natsNodes = topo.nats?.nodes ?? [];
  const nodePids = () => Object.fromEntries(natsNodes.map((n) => [n.name, [n.process?.pid ?? 0]]));
  const rss0 = rssSnapshot(roles);
  const steps: StepResult[] = [];
  let faultsBefore: SeqFaults = { lost: 0, duplicated: 0, reordered: 0 };
  try {
    for (const n of o.steps) {
      log(`${target}: ramping to ${n} streams`);
      const t = performance.now();
      const opened = await driver.setStreams(n);
      const rampS = (performance.now() - t) / 1000;
      await sleep(o.warmupS * 1000);
      await driver.all({ cmd: 'reset' });
      const cpu0 = cpuSnapshot(roles);
      const busy0 = machineBusySeconds();
      const nats0 = monitor ? await natsStats(monitor) : undefined;
      const nodeCpu0 = cpuSnapshot(nodePids());
      const nodes0 = natsNodes.length ? await clusterSnapshot(natsNodes) : [];
      const t0 = performance.now();
      const natsProf =
        o.profile && topo.nats?.profPort ? natsCpuProfile(topo.nats.profPort, o, target, n) : null;
      await sleep(o.measureS * 1000);
      await natsProf;
      const rep = await driver.report();
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = cpuSnapshot(roles);
      const nodeCpu1 = cpuSnapshot(nodePids());
      const nodes1 = natsNodes.length ? await clusterSnapshot(natsNodes) : [];
      const busyCores = (machineBusySeconds() - busy0) / seconds;
      const rss = rssSnapshot(roles);
      const nats1 = monitor ? await natsStats(monitor) : undefined;

      let resume: StepResult['resume'];
      if (RESUMES.has(target) && o.reconnectFraction > 0) {
        await driver.all({ cmd: 'reset' });
        const r = await driver.all<{ dropped: number }>({
          cmd: 'reconnect',
          fraction: o.reconnectFraction,
          gapMs: o.reconnectGapMs,
          timeoutMs: 20_000,
        });
        const rr = await driver.report();
        resume = { ...rr.resume.summary(), dropped: r.reduce((a, x) => a + x.dropped, 0) };
      }
      const after = (await driver.report()).faults;
      const faults = diffFaults(after, faultsBefore);
      faultsBefore = after;

      const cores: Record<string, number> = {};
      for (const k of Object.keys(cpu1)) cores[k] = round((cpu1[k]! - cpu0[k]!) / seconds);
      const events = rep.events;
      const serverCores = Object.entries(cores)
        .filter(([k]) => k !== 'loadgen')
        .reduce((a, [, v]) => a + v, 0);
      const perEvent = (c: number) => (events > 0 ? round((c * seconds * 1e6) / events, 1) : 0);
      const latency = rep.latency.summary();
      const step: StepResult = {
        streams: opened.streams,
        openFailed: opened.failed,
        rampS: round(rampS, 1),
        measureS: round(seconds, 1),
        eventsPerSec: Math.round(events / seconds),
        latency,
        ttft: rep.ttft.summary(),
        ...(resume ? { resume } : {}),
        sessionsDone: rep.sessionsDone,
        sessionErrors: rep.sessionErrors,
        requestErrors: rep.requestErrors,
        errorCodes: rep.errorCodes,
        faults,
        cpuCores: cores,
        cpuUsPerEvent: {
          gatewayTier: perEvent(cores.gateway ?? 0),
          serverTotal: perEvent(serverCores),
          loadgen: perEvent(cores.loadgen ?? 0),
        },
        rssMB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, round(v / 2 ** 20, 1)])),
        gatewayKBPerActiveStream: round(
          ((rss.gateway ?? 0) - (rss0.gateway ?? 0)) / 1024 / Math.max(1, opened.streams),
          1,
        ),
        ...(natsNodes.length
          ? (() => {
              const nodeCores = Object.fromEntries(
                Object.keys(nodeCpu1).map((k) => [k, (nodeCpu1[k]! - nodeCpu0[k]!) / seconds]),
              );
              const rates = streamRates(nodes0, nodes1, seconds);
              return {
                natsNodes: nodeShares(nodes0, nodes1, nodeCores, seconds),
                streamWrites: rates.filter((r) => r.writesPerSec > 0),
              };
            })()
          : {}),
        ...(nats0 && nats1
          ? { nats: { ...nats1, inMsgsPerSec: Math.round((nats1.inMsgs - nats0.inMsgs) / seconds) } }
          : {}),
        machine: {
          busyCores: round(busyCores),
          otherCores: round(Math.max(0, busyCores - Object.values(cores).reduce((a, v) => a + v, 0))),
          loadAvg1: loadAverage(),
        },
        held:
          latency.count > 0 &&
          latency.p99 < 200 &&
          opened.failed === 0 &&
          rep.requestErrors === 0 &&
          faults.lost + faults.duplicated + faults.reordered === 0,
      };
      steps.push(step);
      log(
        `${tag} ${n} streams: ${step.eventsPerSec} ev/s p50 ${latency.p50} p99 ${latency.p99} ms, ttft p99 ${step.ttft.p99} ms` +
          `${resume ? `, resume p99 ${resume.p99} ms` : ''}, cores ${JSON.stringify(cores)}, ` +
          `other load ${step.machine.otherCores} cores, load avg ${step.machine.loadAvg1}, held=${step.held}` +
          (step.natsNodes
            ? `; nodes ${step.natsNodes.map((x) => `${x.node} ${x.cpuCores} cores leads ${x.leads.length} (${Math.round(x.ledEventShare * 100)} % of events)`).join(', ')}`
            : ''),
      );
      // Far past the knee nothing more is learned, and an overloaded box only slows the run down.
      if (!step.held && (latency.p99 > 1000 || opened.failed > n * 0.05 || latency.count === 0)) break;
    }
    log(`${tag}: draining`);
    const drainMs = Math.ceil(((o.length * 1.25) / o.tokensPerSecond) * 1000) + o.thinkMs + 15_000;
    const drained = await driver.all<{ unfinished: number }>({ cmd: 'drain', timeoutMs: drainMs });
    const final = await driver.report();
    await driver.stop();
    const held = steps.filter((s) => s.held).map((s) => s.streams);
    return {
      target,
      ...(clustered ? { natsNodes: o.natsNodes, partitions } : {}),
      ...(backend?.leaders ? { leaders: backend.leaders } : {}),
      steps,
      idle: [],
      drain: { unfinished: drained.reduce((a, x) => a + x.unfinished, 0) },
      totals: final.totals,
      faults: final.faults,
      ...(final.mismatchSample ? { mismatchSample: final.mismatchSample } : {}),
      knee: held.length ? Math.max(...held) : 0,
    };
  } finally {
    await driver.stop().catch(() => undefined);
    await topo.stop();
  }
}
