import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startTopology } from '../chaos/topology.js';
import { waitFor } from '../topology/wait.js';

export interface SlowConsumerOptions {
  /** Clients that stop reading. */
  stalled: number;
  /** Big finished sessions each stalled client resumes from 0 (~650 KB of text each). */
  bigSessions: number;
  /** The gateway's MAX_BACKPRESSURE_BYTES. */
  maxBackpressureBytes: number;
  /** Healthy live sessions run on the same gateway while the others are stalled. */
  healthySessions: number;
  /** Control run: the same clients and reads, but they never stop reading (RSS from the traffic alone). */
  control?: boolean;
  log: (line: string) => void;
}

export interface SlowConsumerReport {
  stalled: number;
  bigSessions: number;
  bytesPerStalledClient: number;
  maxBackpressureBytes: number;
  largestEventBytes: number;
  /**
   * Documented bound on bytes the gateway queues for stalled clients:
   * stalled x (mark + largest event + 1 KB of control frames such as heartbeats).
   */
  boundBytes: number;
  sendBufferBytes: number;
  backpressurePauses: number;
  rssBeforeMB: number;
  rssStalledMB: number;
  rssGrowthMB: number;
  /** V8 heap in use, committed, and memory outside the heap (Buffers) at the stall (gateway metrics). */
  heapUsedMB: number;
  heapTotalMB: number;
  externalMB: number;
  /** RSS once every client has read everything: what the allocators kept. */
  rssAfterDrainMB: number;
  control: boolean;
  /** Event latency (producer ts to receipt) of the healthy sessions during the stall. */
  healthyLatencyMs: { n: number; p50: number; p99: number };
  /** After reading again: every stalled client got every event in order with the exact text. */
  allInOrder: boolean;
  drainSeconds: number;
}

/** A minimal protocol client that keeps per-session checks, not frames (megabytes flow through it). */
class CheckedSocket {
  readonly sessions = new Map<string, { next: number; ordered: boolean; text: string[]; done: boolean }>();
  readonly replies: { id?: unknown; sid?: string; ok: boolean }[] = [];
  readonly latencies: number[] = [];
  largestEvent = 0;
  closeCode: number | null = null;
  readonly openedAt = performance.now();
  closedAfterMs = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('close', (code) => {
      this.closeCode = code;
      this.closedAfterMs = Math.round(performance.now() - this.openedAt);
    });
    ws.on('message', (d: Buffer) => {
      this.largestEvent = Math.max(this.largestEvent, d.length);
      const f = JSON.parse(d.toString()) as {
        type: string;
        sid?: string;
        seq?: number;
        ts?: number;
        text?: string;
        id?: unknown;
        ok?: boolean;
      };
      if (f.type === 'reply') this.replies.push({ id: f.id, sid: f.sid, ok: Boolean(f.ok) });
      if (typeof f.seq !== 'number' || !f.sid) return;
      if (typeof f.ts === 'number') this.latencies.push(Date.now() - f.ts);
      let s = this.sessions.get(f.sid);
      if (!s) {
        s = { next: 1, ordered: true, text: [], done: false };
        this.sessions.set(f.sid, s);
      }
      if (f.seq !== s.next) s.ordered = false;
      s.next = f.seq + 1;
      if (f.type === 'token' && f.text) s.text.push(f.text);
      if (f.type === 'done') s.done = true;
    });
  }

  static async open(url: string): Promise<CheckedSocket> {
    const ws = new WebSocket(url);
    const c = new CheckedSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve()); // the welcome
      ws.once('error', reject);
    });
    return c;
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  async start(id: string, options: Record<string, unknown>): Promise<string> {
    this.send({ type: 'start', id, input: id, options });
    const r = await waitFor(() => this.replies.find((x) => x.id === id), {
      timeoutMs: 30_000,
      what: `start ${id}`,
    });
    if (!r.ok || !r.sid) throw new Error(`start ${id} refused`);
    return r.sid;
  }

  finished(sid: string): boolean {
    return this.sessions.get(sid)?.done ?? false;
  }
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
}

/** Heartbeats and replies still reach a paused connection: a little room for them in the bound. */
const CONTROL_FRAME_ALLOWANCE = 1_024;
const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

/**
 * Slow consumers against one real gateway: `stalled` clients resume `bigSessions` big finished
 * sessions and stop reading. Their kernel socket buffers fill (a few MB each on loopback), then
 * the gateway's: each session pauses at MAX_BACKPRESSURE_BYTES and re-reads from the log once the
 * client reads again. Measures bytes queued, RSS and healthy latency meanwhile, then checks every
 * stalled client gets everything in order.
 */
export async function runSlowConsumers(o: SlowConsumerOptions): Promise<SlowConsumerReport> {
  const topo = await startTopology({
    natsNodes: 1,
    gateways: 1,
    workers: 1,
    gatewayEnv: { MAX_BACKPRESSURE_BYTES: String(o.maxBackpressureBytes) },
  });
  const url = topo.gatewayUrls[0]!;
  const metricsUrl = url.replace('ws://', 'http://').replace('/v1/ws', '/metrics');
  const metric = async (name: string) => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const sockets: CheckedSocket[] = [];
  try {
    const producer = await CheckedSocket.open(url);
    sockets.push(producer);
    const big = Array.from({ length: o.bigSessions }, (_, i) => ({ seed: 4_000 + i, length: 100_000 }));
    const sids: string[] = [];
    for (const [i, b] of big.entries()) {
      const options = {
        seed: b.seed,
        length: b.length,
        tokensPerSecond: 0,
        bufferSize: 1_000,
        flushIntervalMs: 10_000,
      };
      sids.push(await producer.start(`big${i}`, options));
    }
    await waitFor(() => sids.every((sid) => producer.finished(sid)), {
      timeoutMs: 120_000,
      what: 'big sessions',
    });
    const texts = big.map((b) => builtinText(b.seed, b.length));
    o.log(`${o.bigSessions} big sessions stored (${mb(texts.join('').length)} MB of text)`);
    const pid = topo.gateways[0]!.pid!;
    const rssBefore = rssBytes(pid);

    const stalled: CheckedSocket[] = [];
    for (let i = 0; i < o.stalled; i++) {
      const c = await CheckedSocket.open(url);
      for (const sid of sids) c.send({ type: 'resume', sid, after: 0 });
      if (!o.control) c.ws.pause();
      stalled.push(c);
      sockets.push(c);
    }
    // Settled: nothing more is handed to the stalled sockets.
    let last = -1;
    await waitFor(
      async () => {
        const delivered = await metric('streamfabric_gateway_events_delivered_total');
        const settled = delivered === last;
        last = delivered;
        return settled;
      },
      { timeoutMs: 120_000, intervalMs: 1_500, what: 'stalled clients to settle' },
    );
    o.log(`${o.stalled} stalled clients settled`);

    const healthy = await CheckedSocket.open(url);
    sockets.push(healthy);
    const live: string[] = [];
    for (let i = 0; i < o.healthySessions; i++)
      live.push(
        await healthy.start(`h${i}`, { seed: 60 + i, length: 100, tokensPerSecond: 40, flushIntervalMs: 0 }),
      );
    await waitFor(() => live.every((sid) => healthy.finished(sid)), {
      timeoutMs: 60_000,
      what: 'healthy sessions',
    });
    const healthyOk = live.every((sid, i) => {
      const s = healthy.sessions.get(sid)!;
      return s.ordered && s.text.join('') === builtinText(60 + i, 100);
    });

    const sendBufferBytes = await metric('streamfabric_gateway_send_buffer_bytes');
    const backpressurePauses = await metric('streamfabric_gateway_backpressure_pauses_total');
    const rssStalled = rssBytes(pid);
    const heapUsed = await metric('streamfabric_nodejs_heap_size_used_bytes');
    const heapTotal = await metric('streamfabric_nodejs_heap_size_total_bytes');
    const external = await metric('streamfabric_nodejs_external_memory_bytes');
    const largestEventBytes = producer.largestEvent;
    o.log(`queued ${mb(sendBufferBytes)} MB, RSS ${mb(rssBefore)} -> ${mb(rssStalled)} MB; reading again`);

    const drainStart = performance.now();
    for (const c of stalled) c.ws.resume();
    await waitFor(() => stalled.every((c) => sids.every((sid) => c.finished(sid))), {
      timeoutMs: Number(process.env.SF_DRAIN_TIMEOUT_MS ?? 300_000),
      intervalMs: 200,
      what: 'stalled clients to get everything',
    }).catch((err: unknown) => {
      const stuck = stalled.flatMap((c, i) =>
        sids.flatMap((sid, j) => (c.finished(sid) ? [] : [`c${i}/s${j}@${c.sessions.get(sid)?.next ?? 1}`])),
      );
      const closed = stalled
        .filter((c) => c.closeCode !== null)
        .map((c) => `${c.closeCode}@${c.closedAfterMs}ms`);
      const warnings = topo.gateways[0]!.allLogs().filter((l) => Number(l.level) >= 40);
      throw new Error(
        `${String(err)}; stuck: ${stuck.slice(0, 20).join(' ')} (${stuck.length}); closed: ${closed.join(' ')}; ` +
          `gateway warnings: ${JSON.stringify(warnings.slice(0, 10))}`,
      );
    });
    const drainSeconds = +((performance.now() - drainStart) / 1000).toFixed(1);
    const rssAfterDrain = rssBytes(pid);
    const allInOrder =
      healthyOk &&
      stalled.every((c) =>
        sids.every((sid, i) => {
          const s = c.sessions.get(sid)!;
          return s.ordered && s.text.join('') === texts[i];
        }),
      );
    return {
      stalled: o.stalled,
      bigSessions: o.bigSessions,
      bytesPerStalledClient: texts.join('').length,
      maxBackpressureBytes: o.maxBackpressureBytes,
      largestEventBytes,
      boundBytes: o.stalled * (o.maxBackpressureBytes + largestEventBytes + CONTROL_FRAME_ALLOWANCE),
      sendBufferBytes,
      backpressurePauses,
      rssBeforeMB: mb(rssBefore),
      rssStalledMB: mb(rssStalled),
      rssGrowthMB: mb(rssStalled - rssBefore),
      heapUsedMB: mb(heapUsed),
      heapTotalMB: mb(heapTotal),
      externalMB: mb(external),
      rssAfterDrainMB: mb(rssAfterDrain),
      control: o.control ?? false,
      healthyLatencyMs: {
        n: healthy.latencies.length,
        p50: percentile(healthy.latencies, 0.5),
        p99: percentile(healthy.latencies, 0.99),
      },
      allInOrder,
      drainSeconds,
    };
  } finally {
    for (const s of sockets) s.ws.terminate();
    await topo.stop();
  }
}
