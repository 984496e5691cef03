import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { WebSocket } from 'ws';
import { assistantText, type Conversation, foldConversation } from '../../shared/protocol/conversation.js';
import type { ReplyFrame, SessionEvent } from '../../shared/protocol/index.js';
import { startNats } from '../topology/nats-process.js';
import { killAllServices, type ServiceProcess, spawnService } from '../topology/service-process.js';

/**
 * `npm run bench:conversation`: what a long conversation costs, with conversation snapshots off
 * (CONVERSATION_SNAPSHOTS=off: every turn reads the whole log, the behaviour before them) and on.
 *
 * - TTFT (the `message` frame sent -> its first token received) at turns 1, 10, 100 and
 *   BENCH_MAX_TURN (500): the median of BENCH_SAMPLES consecutive turns from there, ~80 events a
 *   turn (the built-in agent unpaced, no coalescing: one event per token).
 * - A new device opening a 100-turn conversation: bytes received and time until it holds the whole
 *   conversation, resuming from seq 0 against resuming from its snapshot.
 *
 * The conversations are built once, through the gateway with snapshots on (the log is the same
 * either way); the "off" figures come from fresh gateway and worker processes with snapshots off
 * on the same nats-server. Writes bench/results/conversation-<date>.json.
 */

const MAX_TURN = Number(process.env.BENCH_MAX_TURN ?? 500);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 5);
const TOKENS = Number(process.env.BENCH_TOKENS_PER_TURN ?? 77); // + user_message, usage, done = 80 events
/** `on,off` (default) or one of them: a quick rerun of one side (the other's figures are then absent). */
const MODES = (process.env.BENCH_MODES ?? 'on,off').split(',');
const POINTS = [1, 10, 100, MAX_TURN].filter((x, i, a) => x <= MAX_TURN && a.indexOf(x) === i);

const log = (m: string) => process.stderr.write(`[bench:conversation] ${m}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** A raw protocol connection that keeps every frame and counts the bytes received. */
class Wire {
  bytes = 0;
  readonly events: SessionEvent[] = [];
  readonly replies: ReplyFrame[] = [];
  private waiters: (() => void)[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.bytes += d.length;
      const f = JSON.parse(d.toString()) as { type: string; seq?: number };
      if (typeof f.seq === 'number') this.events.push(f as SessionEvent);
      else if (f.type === 'reply') this.replies.push(f as ReplyFrame);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(url: string): Promise<Wire> {
    const ws = new WebSocket(url);
    const w = new Wire(ws);
    await w.until(() => w.bytes > 0, 10_000); // the welcome frame
    return w;
  }

  send(f: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(f));
  }

  /** Resolves once `ok()` holds (checked after every frame). */
  until<T>(ok: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('timed out')), timeoutMs);
      const check = () => {
        const v = ok();
        if (v) {
          clearTimeout(timer);
          res(v);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  reply(id: string): Promise<ReplyFrame> {
    return this.until(() => this.replies.find((r) => r.id === id));
  }

  close(): void {
    this.ws.close();
  }
}

const terminal = (e: SessionEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';

/** One conversation driven turn by turn on one connection; `turn()` returns its TTFT (ms). */
class Chat {
  turns = 0;
  private constructor(
    private w: Wire,
    readonly sid: string,
  ) {}

  static async start(url: string, tag: string): Promise<{ chat: Chat; ttft: number }> {
    const w = await Wire.open(url);
    const t0 = performance.now();
    w.send({
      type: 'start',
      id: 's',
      input: `${tag} turn 1`,
      options: { length: TOKENS, tokensPerSecond: 0, seed: 7 },
    });
    const sid = (await w.reply('s')).sid!;
    await w.until(() => w.events.some((e) => e.type === 'token'));
    const ttft = performance.now() - t0;
    const chat = new Chat(w, sid);
    await chat.ended(1);
    return { chat, ttft };
  }

  private ended(n: number): Promise<unknown> {
    return this.w.until(() => {
      const done = this.w.events.filter(terminal);
      if (done.length < n) return false;
      if (done.at(-1)!.type !== 'done')
        throw new Error(`turn ${n} ended with ${JSON.stringify(done.at(-1))}`);
      this.turns = n;
      return true;
    });
  }

  /** Re-attaches to a gateway (after the services were swapped) from the last seq held. */
  async reattach(url: string): Promise<void> {
    const last = this.w.events.at(-1)?.seq ?? 0;
    const events = this.w.events.filter(terminal).length;
    this.w.close();
    this.w = await Wire.open(url);
    this.w.send({ type: 'resume', id: 'r', sid: this.sid, after: last });
    await this.w.reply('r');
    this.offset = events;
  }

  private offset = 0;

  async turn(): Promise<number> {
    const n = this.turns + 1;
    const tokensBefore = this.w.events.length;
    const t0 = performance.now();
    this.w.send({ type: 'message', id: `m${n}`, sid: this.sid, text: `turn ${n}`, turn: n });
    const r = await this.w.reply(`m${n}`);
    if (!r.ok) throw new Error(`turn ${n} refused: ${JSON.stringify(r.error)}`);
    await this.w.until(() => this.w.events.slice(tokensBefore).some((e) => e.type === 'token'));
    const ttft = performance.now() - t0;
    await this.ended(n - this.offset);
    this.turns = n;
    return ttft;
  }

  close(): void {
    this.w.close();
  }
}

async function services(natsUrl: string, snapshots: 'on' | 'off'): Promise<ServiceProcess[]> {
  const env = {
    NATS_URL: natsUrl,
    STREAM_LOG_LEVEL: 'warn',
    CONVERSATION_SNAPSHOTS: snapshots,
    MAX_TURNS_PER_SESSION: String(Math.max(MAX_TURN, 100) + SAMPLES + 5),
    STREAM_FLUSH_INTERVAL: '0',
    BUILTIN_LENGTH: String(TOKENS),
  };
  const gw = await spawnService('gateway', {
    env: { ...env, WEBSOCKET_PORT: '0', STREAM_LOG_LEVEL: 'info' },
  });
  const wk = await spawnService('worker', { env: { ...env, STREAM_LOG_LEVEL: 'info' } });
  return [gw, wk];
}

/** Runs a chat up to `n` finished turns (no measurement). */
async function grow(chat: Chat, n: number): Promise<void> {
  while (chat.turns < n) {
    await chat.turn();
    if (chat.turns % 100 === 0) log(`  ${chat.sid}: ${chat.turns} turns`);
  }
}

/** TTFT of SAMPLES consecutive turns from turn `at` (the chat has `at - 1` turns). */
async function sampleTtft(url: string, chat: Chat | null, at: number, tag: string): Promise<number[]> {
  const out: number[] = [];
  let c = chat;
  if (!c) {
    const s = await Chat.start(url, tag);
    out.push(s.ttft);
    c = s.chat;
  }
  while (out.length < SAMPLES) out.push(await c.turn());
  return out;
}

/** Bytes and time for a new device to hold the whole conversation, from seq 0 or its snapshot. */
async function open(
  url: string,
  sid: string,
  snapshot: boolean,
): Promise<{ ms: number; bytes: number; conv: Conversation }> {
  const w = await Wire.open(url);
  const base = w.bytes;
  const t0 = performance.now();
  w.send({ type: 'resume', id: 'r', sid, after: 0, ...(snapshot ? { snapshot: true } : {}) });
  const r = await w.reply('r');
  const from = r.conversation?.lastSeq ?? 0;
  const end = r.lastSeq ?? 0;
  await w.until(() => (w.events.at(-1)?.seq ?? from) >= end);
  let conv: Conversation;
  if (r.conversation) {
    conv = structuredClone(r.conversation) as Conversation;
  } else conv = foldConversation(w.events);
  const ms = performance.now() - t0;
  const bytes = w.bytes - base;
  w.close();
  return { ms, bytes, conv };
}

function textBytes(c: Conversation): number {
  return c.turns.reduce((s, t) => s + Buffer.byteLength(t.user) + Buffer.byteLength(assistantText(t)), 0);
}

async function main(): Promise<void> {
  const nats = await startNats({});
  const urlOf = (g: ServiceProcess) => `ws://127.0.0.1:${g.port}/v1/ws`;
  const began = Date.now();
  try {
    log(
      `points ${POINTS.join(', ')}; ${SAMPLES} turns each; ${TOKENS} tokens a turn; load ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
    );
    let procs = await services(nats.urls, 'on');
    let url = urlOf(procs[0]!);
    // The conversations the "off" run continues: chats at POINT - 1 turns, built with snapshots on.
    const forOff = new Map<number, Chat>();
    for (const p of POINTS.filter((x) => x > 1 && MODES.includes('off'))) {
      const { chat } = await Chat.start(url, `off-${p}`);
      await grow(chat, p - 1);
      forOff.set(p, chat);
      log(`built a ${p - 1}-turn conversation for the "off" run`);
    }
    // "on": one chat measured along the way at every point.
    const on: Record<number, number[]> = {};
    const measured = await Chat.start(url, 'on');
    on[1] = [measured.ttft];
    while (on[1].length < SAMPLES) on[1].push(await measured.chat.turn());
    for (const p of POINTS.filter((x) => x > 1)) {
      await grow(measured.chat, p - 1);
      on[p] = await sampleTtft(url, measured.chat, p, 'on');
      log(`on: turn ${p} ttft median ${median(on[p]).toFixed(1)} ms`);
    }
    // A new device opens a 100-turn conversation (the one built for the 100 point, one turn short).
    const hundred = await Chat.start(url, 'open');
    await grow(hundred.chat, 100);
    const opens = {
      seq0: [] as Awaited<ReturnType<typeof open>>[],
      snapshot: [] as Awaited<ReturnType<typeof open>>[],
    };
    for (let i = 0; i < SAMPLES; i++) {
      opens.seq0.push(await open(url, hundred.chat.sid, false));
      opens.snapshot.push(await open(url, hundred.chat.sid, true));
    }
    // Key order differs (the snapshot went through its schema): compare values.
    const plain = (c: Conversation) => JSON.parse(JSON.stringify(c));
    if (!isDeepStrictEqual(plain(opens.seq0[0]!.conv), plain(opens.snapshot[0]!.conv)))
      throw new Error('the snapshot open and the seq 0 open disagree');
    const text = textBytes(opens.seq0[0]!.conv);

    // "off": the same steps with services that read the whole log for every turn.
    for (const p of procs) await p.kill('SIGTERM');
    const off: Record<number, number[]> = {};
    if (MODES.includes('off')) {
      procs = await services(nats.urls, 'off');
      url = urlOf(procs[0]!);
      off[1] = await sampleTtft(url, null, 1, 'off-1');
      for (const [p, chat] of forOff) {
        await chat.reattach(url);
        off[p] = await sampleTtft(url, chat, p, `off-${p}`);
        log(`off: turn ${p} ttft median ${median(off[p]).toFixed(1)} ms`);
      }
      for (const p of procs) await p.kill('SIGTERM');
    }
    const med = (xs: number[] | undefined) => (xs ? round(median(xs)) : null);

    const ttft = POINTS.map((p) => ({
      turn: p,
      offMs: med(off[p]),
      onMs: med(on[p]),
      offSamplesMs: off[p]?.map((x) => round(x)) ?? null,
      onSamplesMs: on[p]!.map((x) => round(x)),
    }));
    const openRow = (xs: typeof opens.seq0) => ({
      ms: round(median(xs.map((x) => x.ms))),
      bytes: median(xs.map((x) => x.bytes)),
      bytesPerTextByte: round(median(xs.map((x) => x.bytes)) / text, 2),
    });
    const result = {
      date: new Date().toISOString(),
      box: {
        cores: cpus().length,
        loadavg1m: round(loadavg()[0]!, 2),
        note: 'shared, loaded 2-core box: figures are noisy',
      },
      settings: {
        modes: MODES,
        maxTurn: MAX_TURN,
        samples: SAMPLES,
        tokensPerTurn: TOKENS,
        eventsPerTurn: TOKENS + 3,
      },
      ttft,
      turnRatioOn: round(median(on[MAX_TURN]!) / median(on[1]!), 2),
      turnRatioOff: off[MAX_TURN] && off[1] ? round(median(off[MAX_TURN]) / median(off[1]), 2) : null,
      open100: { textBytes: text, seq0: openRow(opens.seq0), snapshot: openRow(opens.snapshot) },
      wallSeconds: Math.round((Date.now() - began) / 1000),
    };
    const dir = resolve(process.cwd(), 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const suffix = MODES.length === 1 ? `-${MODES[0]}-only` : '';
    const file = resolve(dir, `conversation-${result.date.slice(0, 10)}${suffix}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\nwrote ${file}\n`);
    for (const c of forOff.values()) c.close();
    measured.chat.close();
    hundred.chat.close();
  } finally {
    killAllServices();
    await nats.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:conversation failed: ${String(err)}\n`);
  killAllServices();
  process.exit(1);
});
