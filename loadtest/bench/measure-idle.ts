import type { TransportKind } from '../node/transport.js';
import type { BenchOptions } from './bench-options.js';
import { type Backend, startCentrifugoTopology, stopServices } from './bench-topology.js';
import { LoadDriver } from './load-driver.js';
import { rssBytes } from './proc-stats.js';
import { topologyOptions } from './run-target.js';

export interface IdleResult {
  idleStreams: number;
  failed: number;
  gatewayRssMB: number;
  gatewayKBPerIdleStream: number;
  /** RSS growth since the previous idle step / streams added (leaves out the heap's fixed growth). */
  marginalKBPerIdleStream: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

/** A fresh fan-out process to fill with idle streams, and how the load client reaches it. */
interface IdleFront {
  label: string;
  kind: TransportKind;
  urls: string[];
  startUrls?: string[];
  /** The fan-out process whose RSS is measured. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Gateway memory per idle stream: a fresh gateway, then N connections each following a session
 * whose model is still thinking (subscribed, no events), RSS growth divided by N.
 */
export async function measureIdle(backend: Backend, o: BenchOptions): Promise<IdleResult[]> {
  const g = await backend.addGateway(topologyOptions(o), 99);
  return measureIdleOn(
    {
      label: 'fabric',
      kind: 'fabric',
      urls: [`ws://127.0.0.1:${g.port}/v1/ws`],
      pid: g.process.pid!,
      stop: () => stopServices([g]),
    },
    o,
  );
}

/** The same for Centrifugo: a fresh node; each idle connection is subscribed to its session channel. */
export async function measureIdleCentrifugo(o: BenchOptions): Promise<IdleResult[]> {
  const t = await startCentrifugoTopology(topologyOptions(o));
  return measureIdleOn(
    {
      label: 'centrifugo',
      kind: 'centrifugo',
      urls: t.urls,
      ...(t.startUrls ? { startUrls: t.startUrls } : {}),
      pid: t.roles.gateway![0]!,
      stop: () => t.stop(),
    },
    o,
  );
}

async function measureIdleOn(front: IdleFront, o: BenchOptions): Promise<IdleResult[]> {
  const pid = front.pid;
  const driver = await LoadDriver.start(
    {
      kind: front.kind,
      urls: front.urls,
      ...(front.startUrls ? { startUrls: front.startUrls } : {}),
      length: 1,
      tokensPerSecond: o.tokensPerSecond,
      flushIntervalMs: o.flushIntervalMs,
      thinkMs: 0,
      checkEvery: 1,
      connectRate: o.connectRate,
    },
    o.clients,
  );
  const out: IdleResult[] = [];
  try {
    await sleep(1000);
    const base = rssBytes(pid);
    let have = 0;
    let prevRss = base;
    for (const n of o.idleSteps) {
      if (n <= have) continue;
      log(`${front.label}: opening idle streams up to ${n} on a fresh fan-out process`);
      const r = await driver.all<{ idle: number; failed: number }>(
        { cmd: 'idle', n: 0, thinkMs: 1 },
        (i, k) => ({
          cmd: 'idle',
          n: Math.floor((n - have) / k) + (i < (n - have) % k ? 1 : 0),
          thinkMs: 600_000,
        }),
      );
      const added = n - have;
      have = n;
      await sleep(2000);
      const rss = rssBytes(pid);
      out.push({
        idleStreams: r.reduce((a, x) => a + x.idle, 0),
        failed: r.reduce((a, x) => a + x.failed, 0),
        gatewayRssMB: round(rss / 2 ** 20, 1),
        gatewayKBPerIdleStream: round((rss - base) / 1024 / n, 1),
        marginalKBPerIdleStream: round((rss - prevRss) / 1024 / added, 1),
      });
      prevRss = rss;
      log(
        `${front.label}: ${n} idle streams: fan-out RSS ${round(rss / 2 ** 20, 1)} MB, ${out.at(-1)!.gatewayKBPerIdleStream} KB/stream`,
      );
    }
  } finally {
    await driver.stop();
    await front.stop();
  }
  return out;
}
