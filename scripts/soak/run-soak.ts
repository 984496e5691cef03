import { WebSocket } from 'ws';
import { StreamFabricClient, type StreamSession } from '../../client/src/index.js';
import { builtinText, prng } from '../../services/worker/agents/builtin-model.js';
import { startNats } from '../topology/nats-process.js';
import { killAllServices, type ServiceProcess, spawnService } from '../topology/service-process.js';
import { ProcessSampler } from './process-sampler.js';

export interface SoakOptions {
  minutes: number;
  /** Concurrent simulated users, each a loop of connect, sessions, drops, follow-ups, disconnect. */
  users: number;
  sampleEveryMs: number;
  gateways: number;
  log?: (line: string) => void;
}

export interface SoakTotals {
  connects: number;
  sessions: number;
  followUps: number;
  drops: number;
  lost: number;
  duplicated: number;
  reordered: number;
  textMismatches: number;
  unfinished: number;
}

/** Checks every event the library hands over: contiguous from 1, no duplicate, no reorder. */
function watch(s: StreamSession, totals: SoakTotals): () => void {
  const seen = new Set<number>();
  let max = 0;
  s.on('*', (ev) => {
    if (seen.has(ev.seq)) totals.duplicated++;
    else if (ev.seq < max) totals.reordered++;
    seen.add(ev.seq);
    max = Math.max(max, ev.seq);
  });
  return () => {
    for (let q = 1; q <= max; q++) if (!seen.has(q)) totals.lost++;
  };
}

async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const r = await Promise.race([p, new Promise<null>((res) => (timer = setTimeout(() => res(null), ms)))]);
  clearTimeout(timer);
  return r;
}

async function user(id: number, urls: string[], deadline: number, totals: SoakTotals): Promise<void> {
  // The built-in model's PRNG: a soak run is reproducible from its seed.
  const rand = prng(1_000 + id);
  let n = 0;
  while (Date.now() < deadline) {
    const client = new StreamFabricClient({
      url: urls,
      WebSocket: WebSocket as never,
      backoff: { baseMs: 50, maxMs: 500 },
      networkSignals: false,
    });
    totals.connects++;
    const perConnection = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < perConnection && Date.now() < deadline; k++) {
      const seed = id * 100_000 + n++;
      const length = 40 + Math.floor(rand() * 80);
      const s = await client.start({
        input: 'soak',
        options: { seed, length, tokensPerSecond: 80, flushIntervalMs: 0 },
      });
      totals.sessions++;
      const finish = watch(s, totals);
      if (rand() < 0.3) {
        // A dropped socket mid-stream: the library reconnects (any gateway) and resumes.
        setTimeout(() => client.dropConnection(), Math.floor(rand() * 800));
        totals.drops++;
      }
      const end = await within(s.finishedEvent(), 60_000);
      if (!end) totals.unfinished++;
      else if (s.currentText !== builtinText(seed, length)) totals.textMismatches++;
      if (end && rand() < 0.3) {
        totals.followUps++;
        const reply = await within(
          s.send('and then?').catch(() => null),
          60_000,
        );
        if (reply === null) totals.unfinished++;
        else if (reply !== builtinText(seed + 1, length)) totals.textMismatches++;
      }
      finish();
    }
    client.close();
  }
}

/** Runs the soak: a fabric (1 NATS node, gateways, 1 worker), users with churn, process sampling. */
export async function runSoak(o: SoakOptions) {
  const log = o.log ?? (() => {});
  const nats = await startNats({ nodes: 1 });
  const env = { NATS_URL: nats.urls, AUTH_MODE: 'dev', WEBSOCKET_PORT: '0', STREAM_LOG_LEVEL: 'info' };
  const services: (ServiceProcess & { name: string })[] = [];
  try {
    for (let i = 0; i < o.gateways; i++)
      services.push(Object.assign(await spawnService('gateway', { env }), { name: `gateway-${i + 1}` }));
    services.push(Object.assign(await spawnService('worker', { env }), { name: 'worker-1' }));
    const sampler = new ProcessSampler([
      ...services.map((s) => ({ name: s.name, pid: s.process.pid! })),
      { name: 'nats-server', pid: nats.nodes[0]!.process!.pid! },
    ]);
    const urls = services
      .filter((s) => s.name.startsWith('gateway'))
      .map((s) => `ws://127.0.0.1:${s.port}/v1/ws`);
    const totals: SoakTotals = {
      connects: 0,
      sessions: 0,
      followUps: 0,
      drops: 0,
      lost: 0,
      duplicated: 0,
      reordered: 0,
      textMismatches: 0,
      unfinished: 0,
    };
    const started = Date.now();
    const deadline = started + o.minutes * 60_000;
    sampler.sample();
    const timer = setInterval(() => {
      sampler.sample();
      log(`${((Date.now() - started) / 60_000).toFixed(1)} min: ${JSON.stringify(totals)}`);
    }, o.sampleEveryMs);
    await Promise.all(Array.from({ length: o.users }, (_, i) => user(i, urls, deadline, totals)));
    clearInterval(timer);
    sampler.sample();
    const alive = services.every((s) => s.process.exitCode === null && s.process.signalCode === null);
    return { minutes: o.minutes, users: o.users, totals, alive, processes: sampler.report() };
  } finally {
    await Promise.allSettled(services.map((s) => s.kill('SIGTERM')));
    killAllServices();
    await nats.stop();
  }
}
