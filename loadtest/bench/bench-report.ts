import type { BenchOptions } from './bench-options.js';
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
  socketioKnee: number | null;
  uwsKnee: number | null;
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

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

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

export function compare(targets: TargetResult[]): Comparison {
  const by = (t: string) => targets.find((x) => x.target === t);
  const fabric = by('fabric');
  const sio = by('socketio');
  const uws = by('uws');
  const fk = fabric?.knee ?? 0;
  const u = fabric && uws ? commonStep(fabric, uws) : null;
  const i = fabric && sio ? commonStep(fabric, sio) : null;
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b) : 0);
  return {
    fabricKnee: fk,
    socketioKnee: sio ? sio.knee : null,
    uwsKnee: uws ? uws.knee : null,
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

const COLORS: Record<string, string> = { fabric: '#1f77b4', socketio: '#ff7f0e', uws: '#2ca02c' };
const LABEL: Record<string, string> = { fabric: 'StreamFabric', socketio: 'Socket.IO 4', uws: 'raw uWS' };

export function plot(r: BenchResult): string {
  const series: PlotSeries[] = [];
  for (const t of r.targets)
    for (const [pct, dashed] of [
      ['p99', false],
      ['p50', true],
    ] as const)
      series.push({
        label: `${LABEL[t.target]} ${pct}`,
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
        `| ${LABEL[t.target]} | ${s.streams} | ${s.eventsPerSec} | ${s.latency.p50} | ${s.latency.p99} | ${s.latency.p999} | ` +
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
      `- ${LABEL[t.target]}: knee ${t.knee} streams; whole run: ${t.totals.events} events, ${t.totals.sessionsDone} sessions, ` +
        `lost ${t.faults.lost}, duplicated ${t.faults.duplicated}, reordered ${t.faults.reordered}, ` +
        `final text checked ${t.totals.textChecked} (${t.totals.textMismatch} mismatched), request errors ${t.totals.requestErrors}, ` +
        `unfinished after drain ${t.drain.unfinished}.`,
    );
    for (const i of t.idle)
      lines.push(
        `  - gateway memory: ${i.idleStreams} idle streams -> RSS ${i.gatewayRssMB} MB, ${i.gatewayKBPerIdleStream} KB per idle stream ` +
          `(${i.marginalKBPerIdleStream} KB per stream added since the previous step; ${i.failed} failed).`,
      );
  }
  lines.push('', '## Comparison', '');
  lines.push(
    `- Streams held at p99 < 200 ms: StreamFabric ${c.fabricKnee}, Socket.IO ${fmt(c.socketioKnee)}, raw uWS ${fmt(c.uwsKnee)}; ` +
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
  return `${lines.join('\n')}\n`;
}
