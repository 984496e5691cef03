import type { BenchOptions } from './bench-options.js';
import { isEventsStream } from './nats-nodes.js';
import type { StepResult, TargetResult } from './run-target.js';
import { latencyPlot, type PlotSeries } from './svg-plot.js';

/** The whole run, as written to bench/results/<date>-<name>.json. */
export interface BenchResult {
  name: string;
  date: string;
  machine: Record<string, string | number>;
  options: BenchOptions;
  targets: TargetResult[];
  comparison: Comparison;
  wallS: number;
}

export interface Comparison {
  fabricKnee: number;
  /** Cluster mode: each fabric run's per-node spread at every step (P = 1 against P = 3 ...). */
  partitions?: PartitionRow[];
  /** Cluster mode, P = 1: what one partition leader costs its node, and where it saturates. */
  leaderSaturation?: LeaderSaturation | null;
  socketioKnee: number | null;
  uwsKnee: number | null;
  centrifugoKnee: number | null;
  /**
   * StreamFabric against Centrifugo at every stream count both ran (ratios fabric / Centrifugo:
   * below 1 means the fabric is better), with raw uWS's fan-out cost at the same count.
   */
  vsCentrifugo: PeerRatio[];
  /** fabric knee / Socket.IO knee (null when a side was not run; Infinity when Socket.IO held none). */
  streamsRatioVsSocketIo: number | null;
  /** CPU µs per delivered event at the largest stream count run by both sides of each pair. */
  cpuPerEvent: {
    vsUws: {
      streams: number;
      fabricGatewayTierUs: number;
      fabricServerTotalUs: number;
      uwsUs: number;
      fabricTotalVsUws: number;
      fabricGatewayVsUws: number;
    } | null;
    vsSocketIo: {
      streams: number;
      fabricGatewayTierUs: number;
      socketioGatewayTierUs: number;
      socketioVsFabricGateway: number;
      fabricServerTotalUs: number;
      socketioServerTotalUs: number;
    } | null;
  };
}

export interface PeerRatio {
  streams: number;
  fabricP99: number;
  centrifugoP99: number;
  p99FabricVsCentrifugo: number;
  /** Fan-out tier CPU µs per event: fabric gateways, the Centrifugo node, raw uWS (null if not run). */
  fabricGatewayTierUs: number;
  centrifugoUs: number;
  uwsUs: number | null;
  fanoutFabricVsCentrifugo: number;
  centrifugoVsUws: number | null;
  /** Whole server side: fabric gateways + workers + nats-server; Centrifugo + its publishers. */
  fabricServerTotalUs: number;
  centrifugoServerTotalUs: number;
  serverTotalFabricVsCentrifugo: number;
}

/** One step of one fabric run in cluster mode, summarised across its NATS nodes. */
export interface PartitionRow {
  partitions: number;
  streams: number;
  eventsPerSec: number;
  /** Session events written to the EVENTS stream(s) per second (leader view). */
  eventWritesPerSec: number;
  /** Largest leader share of the session events any node had (1 = one node led them all). */
  maxLedEventShare: number;
  /** Nodes that led any EVENTS partition. */
  eventLeaderNodes: number;
  nodeCpuCores: number[];
  /** Busiest node's CPU / mean node CPU (1 = even). */
  cpuImbalance: number;
  natsCoresTotal: number;
  p99: number;
  loadAvg1: number;
  held: boolean;
}

/**
 * The single-partition leader's cost: CPU µs per session event on the node that leads the one
 * EVENTS stream, at each step; the events/s at which it would use one full core (extrapolated
 * from the largest measured step), and the largest step actually held.
 */
export interface LeaderSaturation {
  leaderNode: string;
  steps: {
    streams: number;
    eventWritesPerSec: number;
    leaderCpuCores: number;
    followerCpuCores: number;
    leaderUsPerEvent: number;
    p99: number;
    held: boolean;
    loadAvg1: number;
  }[];
  /** 1e6 / leader µs per event at the largest step: events/s one leader node handles per core. */
  eventsPerSecPerLeaderCore: number;
  /**
   * The same from the marginal cost (least-squares slope of leader CPU over events/s across the steps): fixed
   * costs (heartbeats, idle Raft traffic) left out, so it is the higher, less pessimistic figure.
   */
  marginalUsPerEvent: number | null;
  eventsPerSecPerLeaderCoreMarginal: number | null;
  /** Largest events/s measured with p99 < 200 ms. */
  heldEventsPerSec: number;
  /** The largest step's leader CPU reached one core (measured), or the figure is extrapolated. */
  measuredToSaturation: boolean;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : 0);

function peerRatios(fabric?: TargetResult, cf?: TargetResult, uws?: TargetResult): PeerRatio[] {
  if (!fabric || !cf) return [];
  const out: PeerRatio[] = [];
  for (const f of fabric.steps) {
    const c = cf.steps.find((x) => x.streams === f.streams);
    if (!c) continue;
    const u = uws?.steps.find((x) => x.streams === f.streams);
    out.push({
      streams: f.streams,
      fabricP99: f.latency.p99,
      centrifugoP99: c.latency.p99,
      p99FabricVsCentrifugo: ratio(f.latency.p99, c.latency.p99),
      fabricGatewayTierUs: f.cpuUsPerEvent.gatewayTier,
      centrifugoUs: c.cpuUsPerEvent.gatewayTier,
      uwsUs: u ? u.cpuUsPerEvent.gatewayTier : null,
      fanoutFabricVsCentrifugo: ratio(f.cpuUsPerEvent.gatewayTier, c.cpuUsPerEvent.gatewayTier),
      centrifugoVsUws: u ? ratio(c.cpuUsPerEvent.gatewayTier, u.cpuUsPerEvent.gatewayTier) : null,
      fabricServerTotalUs: f.cpuUsPerEvent.serverTotal,
      centrifugoServerTotalUs: c.cpuUsPerEvent.serverTotal,
      serverTotalFabricVsCentrifugo: ratio(f.cpuUsPerEvent.serverTotal, c.cpuUsPerEvent.serverTotal),
    });
  }
  return out;
}

/**
 * The step to compare CPU per event at: the largest stream count both targets ran (efficiency is
 * about the work per event, held or not; more streams means fixed costs weigh less).
 */
function commonStep(
  a: TargetResult,
  b: TargetResult | undefined,
): [StepResult, StepResult | undefined] | null {
  const both = a.steps.filter((s) => b?.steps.some((t) => t.streams === s.streams));
  const s = both.at(-1) ?? a.steps.at(-1);
  if (!s) return null;
  return [s, b?.steps.find((t) => t.streams === s.streams)];
}

/** Summarises every cluster-mode fabric run per step (empty when none ran on a cluster). */
export function partitionRows(targets: TargetResult[]): PartitionRow[] {
  const rows: PartitionRow[] = [];
  for (const t of targets) {
    if (t.target !== 'fabric' || t.partitions === undefined) continue;
    for (const s of t.steps) {
      const nodes = s.natsNodes ?? [];
      if (nodes.length === 0) continue;
      const cpu = nodes.map((n) => n.cpuCores);
      const mean = cpu.reduce((a, v) => a + v, 0) / cpu.length;
      rows.push({
        partitions: t.partitions,
        streams: s.streams,
        eventsPerSec: s.eventsPerSec,
        eventWritesPerSec: round(
          nodes.reduce((a, n) => a + n.ledEventsPerSec, 0),
          1,
        ),
        maxLedEventShare: Math.max(...nodes.map((n) => n.ledEventShare)),
        eventLeaderNodes: nodes.filter((n) => n.leads.some(isEventsStream)).length,
        nodeCpuCores: cpu,
        cpuImbalance: mean > 0 ? round(Math.max(...cpu) / mean) : 0,
        natsCoresTotal: round(cpu.reduce((a, v) => a + v, 0)),
        p99: s.latency.p99,
        loadAvg1: s.machine.loadAvg1,
        held: s.held,
      });
    }
  }
  return rows;
}

/** From the P = 1 cluster run: the EVENTS leader's CPU per event and where it would saturate. */
export function leaderSaturation(targets: TargetResult[]): LeaderSaturation | null {
  const t = targets.find((x) => x.target === 'fabric' && x.partitions === 1 && (x.natsNodes ?? 1) >= 3);
  if (!t) return null;
  const steps: LeaderSaturation['steps'] = [];
  let leaderNode = '';
  for (const s of t.steps) {
    const nodes = s.natsNodes ?? [];
    const leader = nodes.find((n) => n.leads.some(isEventsStream));
    if (!leader) continue;
    leaderNode = leader.node;
    const writes = nodes.reduce((a, n) => a + n.ledEventsPerSec, 0);
    const followers = nodes.filter((n) => n !== leader);
    steps.push({
      streams: s.streams,
      eventWritesPerSec: round(writes, 1),
      leaderCpuCores: leader.cpuCores,
      followerCpuCores: followers.length
        ? round(followers.reduce((a, n) => a + n.cpuCores, 0) / followers.length)
        : 0,
      leaderUsPerEvent: writes > 0 ? round((leader.cpuCores * 1e6) / writes, 1) : 0,
      p99: s.latency.p99,
      held: s.held,
      loadAvg1: s.machine.loadAvg1,
    });
  }
  const last = steps.at(-1);
  if (!last) return null;
  const held = steps.filter((s) => s.held);
  // Least-squares slope of leader cores over events/s across the steps: the cost of one more event.
  const n = steps.length;
  const mx = steps.reduce((a, s) => a + s.eventWritesPerSec, 0) / n;
  const my = steps.reduce((a, s) => a + s.leaderCpuCores, 0) / n;
  const sxx = steps.reduce((a, s) => a + (s.eventWritesPerSec - mx) ** 2, 0);
  const sxy = steps.reduce((a, s) => a + (s.eventWritesPerSec - mx) * (s.leaderCpuCores - my), 0);
  const slope = n > 1 && sxx > 0 ? sxy / sxx : 0;
  const marginal = slope > 0 ? round(slope * 1e6, 1) : null;
  return {
    leaderNode,
    steps,
    eventsPerSecPerLeaderCore: last.leaderUsPerEvent > 0 ? Math.round(1e6 / last.leaderUsPerEvent) : 0,
    marginalUsPerEvent: marginal,
    eventsPerSecPerLeaderCoreMarginal: marginal ? Math.round(1e6 / marginal) : null,
    heldEventsPerSec: held.length ? Math.max(...held.map((s) => s.eventWritesPerSec)) : 0,
    measuredToSaturation: steps.some((s) => s.leaderCpuCores >= 0.9),
  };
}

export function compare(targets: TargetResult[]): Comparison {
  const by = (t: string) => targets.find((x) => x.target === t);
  const fabric = by('fabric');
  const sio = by('socketio');
  const uws = by('uws');
  const cf = by('centrifugo');
  const fk = fabric?.knee ?? 0;
  const u = fabric && uws ? commonStep(fabric, uws) : null;
  const i = fabric && sio ? commonStep(fabric, sio) : null;
  const parts = partitionRows(targets);
  return {
    fabricKnee: fk,
    ...(parts.length ? { partitions: parts, leaderSaturation: leaderSaturation(targets) } : {}),
    socketioKnee: sio ? sio.knee : null,
    uwsKnee: uws ? uws.knee : null,
    centrifugoKnee: cf ? cf.knee : null,
    vsCentrifugo: peerRatios(fabric, cf, uws),
    streamsRatioVsSocketIo: sio ? (sio.knee > 0 ? round(fk / sio.knee) : Number.POSITIVE_INFINITY) : null,
    cpuPerEvent: {
      vsUws:
        u?.[1] !== undefined
          ? {
              streams: u[0].streams,
              fabricGatewayTierUs: u[0].cpuUsPerEvent.gatewayTier,
              fabricServerTotalUs: u[0].cpuUsPerEvent.serverTotal,
              uwsUs: u[1].cpuUsPerEvent.gatewayTier,
              fabricTotalVsUws: ratio(u[0].cpuUsPerEvent.serverTotal, u[1].cpuUsPerEvent.gatewayTier),
              fabricGatewayVsUws: ratio(u[0].cpuUsPerEvent.gatewayTier, u[1].cpuUsPerEvent.gatewayTier),
            }
          : null,
      vsSocketIo:
        i?.[1] !== undefined
          ? {
              streams: i[0].streams,
              fabricGatewayTierUs: i[0].cpuUsPerEvent.gatewayTier,
              socketioGatewayTierUs: i[1].cpuUsPerEvent.gatewayTier,
              socketioVsFabricGateway: ratio(i[1].cpuUsPerEvent.gatewayTier, i[0].cpuUsPerEvent.gatewayTier),
              fabricServerTotalUs: i[0].cpuUsPerEvent.serverTotal,
              socketioServerTotalUs: i[1].cpuUsPerEvent.serverTotal,
            }
          : null,
    },
  };
}

const COLORS: Record<string, string> = {
  fabric: '#1f77b4',
  socketio: '#ff7f0e',
  uws: '#2ca02c',
  centrifugo: '#9467bd',
};
const LABEL: Record<string, string> = {
  fabric: 'StreamFabric',
  socketio: 'Socket.IO 4',
  uws: 'raw uWS',
  centrifugo: 'Centrifugo 6',
};

export function plot(r: BenchResult): string {
  const series: PlotSeries[] = [];
  for (const t of r.targets)
    for (const [pct, dashed] of [
      ['p99', false],
      ['p50', true],
    ] as const)
      series.push({
        label: `${targetLabel(t)} ${pct}`,
        color: COLORS[t.target] ?? '#555',
        dashed,
        points: t.steps.map((s) => ({ x: s.streams, y: s.latency[pct] })),
      });
  const o = r.options;
  return latencyPlot(
    `Event latency vs concurrent streams (${o.tokensPerSecond} tok/s, ${o.flushIntervalMs} ms flush) - ${r.name}`,
    series,
  );
}

/** A target's name in tables: the fabric's cluster runs say their partition count. */
export function targetLabel(t: Pick<TargetResult, 'target' | 'partitions' | 'natsNodes'>): string {
  return t.partitions === undefined
    ? (LABEL[t.target] ?? t.target)
    : `${LABEL[t.target]} P=${t.partitions} (${t.natsNodes} nodes)`;
}

const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '-' : String(n));

/** The markdown summary written beside the JSON. */
export function markdown(r: BenchResult, svgFile: string): string {
  const c = r.comparison;
  const lines = [
    `# Benchmark ${r.name} (${r.date})`,
    '',
    `Machine: ${Object.entries(r.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Wall time ${r.wallS} s.`,
    '',
    `Load: each stream is one WebSocket following LLM-shaped sessions back to back (built-in model at ${r.options.tokensPerSecond} tokens/s, ` +
      `${r.options.length} tokens ±25 %, think time ${r.options.thinkMs} ms, coalesced at ${r.options.flushIntervalMs} ms); ` +
      `${r.options.warmupS} s warm-up then a ${r.options.measureS} s window per step; ${r.options.gateways} gateway(s), ${r.options.workers} worker(s), ` +
      `${r.options.clients} load-client process(es) on the same box. Latency = receipt time minus the event's producer \`ts\` (same clock; ms resolution).`,
    '"Other load" is CPU the machine spent on processes that are not part of this run (other people on a shared box): ' +
      'when it is high, the latencies say more about the box than about the fabric.',
    '',
    `![latency](${svgFile})`,
    '',
    '| target | streams | events/s | p50 ms | p99 ms | p99.9 ms | TTFT p50/p99 ms | resume p99 ms | lost/dup/reord | CPU cores gw/worker/nats/loadgen | CPU µs/event gw tier / server total | gw KB/active stream | other load (cores) | held |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- | --- | --- | ---: | ---: | --- |',
  ];
  for (const t of r.targets)
    for (const s of t.steps) {
      const k = s.cpuCores;
      lines.push(
        `| ${targetLabel(t)} | ${s.streams} | ${s.eventsPerSec} | ${s.latency.p50} | ${s.latency.p99} | ${s.latency.p999} | ` +
          `${s.ttft.p50} / ${s.ttft.p99} | ${s.resume ? `${s.resume.p99} (${s.resume.dropped} dropped)` : '-'} | ` +
          `${s.faults.lost}/${s.faults.duplicated}/${s.faults.reordered} | ` +
          `${fmt(k.gateway)}/${fmt(k.worker)}/${fmt(k.nats)}/${fmt(k.loadgen)} | ` +
          `${s.cpuUsPerEvent.gatewayTier} / ${s.cpuUsPerEvent.serverTotal} | ${s.gatewayKBPerActiveStream} | ` +
          `${s.machine.otherCores} | ${s.held ? 'yes' : 'NO'} |`,
      );
    }
  lines.push('');
  for (const t of r.targets) {
    lines.push(
      `- ${targetLabel(t)}: knee ${t.knee} streams; whole run: ${t.totals.events} events, ${t.totals.sessionsDone} sessions, ` +
        `lost ${t.faults.lost}, duplicated ${t.faults.duplicated}, reordered ${t.faults.reordered}, ` +
        `final text checked ${t.totals.textChecked} (${t.totals.textMismatch} mismatched), request errors ${t.totals.requestErrors}, ` +
        `unfinished after drain ${t.drain.unfinished}.`,
    );
    for (const i of t.idle)
      lines.push(
        `  - fan-out tier memory: ${i.idleStreams} idle streams -> RSS ${i.gatewayRssMB} MB, ${i.gatewayKBPerIdleStream} KB per idle stream ` +
          `(${i.marginalKBPerIdleStream} KB per stream added since the previous step; ${i.failed} failed).`,
      );
    if (t.survives) lines.push(...survivesLines(t.survives));
  }
  lines.push('', '## Comparison', '');
  lines.push(
    `- Streams held at p99 < 200 ms: StreamFabric ${c.fabricKnee}, Socket.IO ${fmt(c.socketioKnee)}, raw uWS ${fmt(c.uwsKnee)}, ` +
      `Centrifugo ${fmt(c.centrifugoKnee)}; ` +
      `ratio StreamFabric / Socket.IO = ${fmt(c.streamsRatioVsSocketIo)} (target >= 10).`,
  );
  const u = c.cpuPerEvent.vsUws;
  if (u)
    lines.push(
      `- CPU per delivered event at ${u.streams} streams: StreamFabric gateway tier ${u.fabricGatewayTierUs} µs, whole server side ` +
        `(gateways + workers + nats-server) ${u.fabricServerTotalUs} µs; raw uWS ${u.uwsUs} µs. ` +
        `Fabric / raw uWS = ${u.fabricTotalVsUws}x whole path, ${u.fabricGatewayVsUws}x gateway tier (target <= 3x).`,
    );
  const i = c.cpuPerEvent.vsSocketIo;
  if (i)
    lines.push(
      `- Gateway tier at ${i.streams} streams (same NATS and workers behind both): Socket.IO ${i.socketioGatewayTierUs} µs per event, ` +
        `StreamFabric ${i.fabricGatewayTierUs} µs (Socket.IO / fabric = ${i.socketioVsFabricGateway}x); whole server side ` +
        `${i.socketioServerTotalUs} vs ${i.fabricServerTotalUs} µs.`,
    );
  lines.push(...peerTable(c.vsCentrifugo));
  lines.push(...clusterLines(r));
  return `${lines.join('\n')}\n`;
}

function survivesLines(x: NonNullable<TargetResult['survives']>): string[] {
  const a = x.afterRestart;
  return [
    `  - Centrifugo restart (${x.engine} engine): history held ${x.historyBefore} publications before, ${x.historyAfter} after; ` +
      `a client that had read up to offset ${x.before.offset} subscribed again with recovery: wasRecovering ${a.wasRecovering}, ` +
      `recovered ${a.recovered}, epoch changed ${a.epochChanged}, ${a.missedRecovered} of ${a.missed} missed events returned` +
      `${a.errorCode !== null ? `, error code ${a.errorCode}` : ''}. Verdict: ${x.verdict}.`,
  ];
}

function peerTable(rows: PeerRatio[]): string[] {
  if (rows.length === 0) return [];
  const out = [
    '',
    '### StreamFabric against Centrifugo (same run; ratio = fabric / Centrifugo, < 1 means the fabric does better)',
    '',
    '| streams | p99 ms fabric / Centrifugo | ratio | fan-out CPU µs/event fabric gw / Centrifugo / raw uWS | ratio fabric/Centrifugo | Centrifugo / raw uWS | server total µs/event fabric / Centrifugo | ratio |',
    '| ---: | --- | ---: | --- | ---: | ---: | --- | ---: |',
  ];
  for (const p of rows)
    out.push(
      `| ${p.streams} | ${p.fabricP99} / ${p.centrifugoP99} | ${p.p99FabricVsCentrifugo} | ` +
        `${p.fabricGatewayTierUs} / ${p.centrifugoUs} / ${fmt(p.uwsUs)} | ${p.fanoutFabricVsCentrifugo} | ${fmt(p.centrifugoVsUws)} | ` +
        `${p.fabricServerTotalUs} / ${p.centrifugoServerTotalUs} | ${p.serverTotalFabricVsCentrifugo} |`,
    );
  return out;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** Cluster mode: the per-node share table, the P comparison and the leader's saturation point. */
export function clusterLines(r: BenchResult): string[] {
  const runs = r.targets.filter((t) => t.target === 'fabric' && t.partitions !== undefined);
  if (runs.length === 0) return [];
  const out = [
    '',
    `## NATS nodes (${r.options.natsNodes} node(s), streams R${r.options.natsNodes >= 3 ? 3 : 1})`,
    '',
    'Per node and step: the streams it led at the end of the window (EVENTS = session events, JOBS, KV_ = buckets), ' +
      'the messages written through it as leader (every stream; then session events only) and their share, ' +
      'the session events it stores a copy of (R3 on 3 nodes: every node stores all of them), and the CPU of its ' +
      'nats-server process (from /proc, like every other role). Load avg = 1-minute load average of the box ' +
      `(${r.machine.cores} cores, shared with other work).`,
    '',
    '| run | streams | events/s | node | leads | led writes/s (share) | led events/s (share) | stored events (share) | CPU cores | CPU µs / fabric event | p99 ms | load avg |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of runs)
    for (const s of t.steps)
      for (const n of s.natsNodes ?? [])
        out.push(
          `| P=${t.partitions} | ${s.streams} | ${s.eventsPerSec} | ${n.node} | ${n.leads.join(' ') || '-'} | ` +
            `${n.ledWritesPerSec} (${pct(n.ledWriteShare)}) | ${n.ledEventsPerSec} (${pct(n.ledEventShare)}) | ` +
            `${n.storedEvents} (${pct(n.storedEventShare)}) | ${n.cpuCores} | ${n.cpuUsPerEvent} | ${s.latency.p99} | ${s.machine.loadAvg1} |`,
        );
  for (const t of runs)
    if (t.leaders)
      out.push(
        '',
        `Leaders of P=${t.partitions} after the spread at start: ${t.leaders.map((l) => `${l.stream}@${l.leader}`).join(' ')}.`,
      );
  const rows = r.comparison.partitions ?? [];
  if (rows.length) {
    out.push(
      '',
      '### Partitions compared (same load, same run)',
      '',
      '| P | streams | events/s delivered | events/s written | nodes leading EVENTS | largest leader share | node CPU cores | busiest / mean | nats cores total | p99 ms | load avg | held |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const x of rows)
      out.push(
        `| ${x.partitions} | ${x.streams} | ${x.eventsPerSec} | ${x.eventWritesPerSec} | ${x.eventLeaderNodes} | ${pct(x.maxLedEventShare)} | ` +
          `${x.nodeCpuCores.join(' / ')} | ${x.cpuImbalance} | ${x.natsCoresTotal} | ${x.p99} | ${x.loadAvg1} | ${x.held ? 'yes' : 'NO'} |`,
      );
  }
  const sat = r.comparison.leaderSaturation;
  if (sat) {
    out.push(
      '',
      `### One partition leader (P=1): ${sat.leaderNode} leads the EVENTS stream`,
      '',
      '| streams | events/s written | leader CPU cores | follower CPU cores (mean) | leader µs / event | p99 ms | load avg | held |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...sat.steps.map(
        (s) =>
          `| ${s.streams} | ${s.eventWritesPerSec} | ${s.leaderCpuCores} | ${s.followerCpuCores} | ${s.leaderUsPerEvent} | ${s.p99} | ${s.loadAvg1} | ${s.held ? 'yes' : 'NO'} |`,
      ),
      '',
      `- One leader node handles about ${sat.eventsPerSecPerLeaderCore} session events/s per core ` +
        `(1e6 / its µs per event at the largest step; ` +
        (sat.marginalUsPerEvent !== null
          ? `from the marginal cost, ${sat.marginalUsPerEvent} µs per added event, ${sat.eventsPerSecPerLeaderCoreMarginal} events/s per core; `
          : '') +
        `${sat.measuredToSaturation ? 'measured up to one full core' : 'extrapolated: the leader never reached one core on this box, which ran out of cores first'}). ` +
        `Largest rate held at p99 < 200 ms: ${sat.heldEventsPerSec} events/s.`,
    );
  }
  return out;
}
