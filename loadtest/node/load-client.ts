import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { Histogram } from './histogram.js';
import { IdlePool } from './idle-pool.js';
import { type LoadProfile, type LoadReport, TOTAL_KEYS, type Totals } from './load-types.js';
import { SeqChecker, type SeqFaults } from './seq-checker.js';
import { createTransportFor, type LoadTransport, type WireFrame } from './transport.js';

export type { LoadProfile, LoadReport, Totals } from './load-types.js';

interface Session {
  sid: string;
  seed: number;
  length: number;
  sentAt: number;
  firstToken: boolean;
  checker: SeqChecker;
  text: string | null;
  /** Events up to this seq were replayed from the log after a resume: not live latency. */
  replayedUpTo: number;
  resumeSentAt: number;
  resumeAfter: number;
  /** `prevPos` of the event at the checker's position: the resume hint, as the client library sends it. */
  pos?: number;
}

interface Slot {
  index: number;
  transport: LoadTransport;
  session: Session | null;
  sessionsRun: number;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The Node load client: holds N concurrent streams against a fabric gateway, the Socket.IO
 * baseline or the raw uWS baseline, and measures per-event latency (producer `ts` to receipt,
 * same machine clock), time to first token, resume latency after forced reconnects, and
 * lost / duplicated / reordered events by `seq`.
 */
export class LoadClient {
  private readonly slots: Slot[] = [];
  private readonly idle: IdlePool;
  private running = true;
  private sessionCounter = 0;
  private readonly latency = new Histogram();
  private readonly ttft = new Histogram();
  private readonly resumeHist = new Histogram();
  private readonly faults: SeqFaults = { lost: 0, duplicated: 0, reordered: 0 };
  private c = LoadClient.zero();
  private readonly acc: Totals = {
    events: 0,
    sessionsDone: 0,
    sessionErrors: 0,
    requestErrors: 0,
    textChecked: 0,
    textMismatch: 0,
  };

  constructor(private readonly p: LoadProfile) {
    this.idle = new IdlePool(p);
  }

  private static zero() {
    return {
      events: 0,
      sessionsStarted: 0,
      sessionsDone: 0,
      sessionErrors: 0,
      requestErrors: 0,
      errorCodes: {} as Record<string, number>,
      textChecked: 0,
      textMismatch: 0,
      mismatchSample: undefined as string | undefined,
      disconnects: 0,
      stray: 0,
    };
  }

  get activeSessions(): number {
    return this.slots.filter((s) => s.session).length;
  }

  /** Grows to `n` streams, opening connections at the ramp rate; resolves once all are open. */
  async setStreams(n: number): Promise<{ streams: number; failed: number }> {
    this.running = true;
    let failed = 0;
    const gapMs = 1000 / Math.max(1, this.p.connectRate);
    const opening: Promise<void>[] = [];
    const t0 = now();
    const base = this.slots.length;
    for (let i = base; i < n; i++) {
      const target = t0 + (i - base) * gapMs;
      if (target > now()) await sleep(target - now());
      opening.push(
        this.openSlot(i).then(
          (slot) => {
            this.slots.push(slot);
            this.startNext(slot);
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await Promise.all(opening);
    return { streams: this.slots.length, failed };
  }

  /** Opens `n` idle streams (for the gateway memory measurement). */
  openIdle(n: number, thinkMs: number): Promise<{ idle: number; failed: number }> {
    return this.idle.open(n, thinkMs);
  }

  closeIdle(): void {
    this.idle.close();
  }

  private async openSlot(index: number): Promise<Slot> {
    const transport = createTransportFor(this.p, index);
    await transport.open();
    const slot: Slot = { index, transport, session: null, sessionsRun: 0 };
    this.wire(slot);
    return slot;
  }

  private wire(slot: Slot): void {
    slot.transport.onFrame = (f) => this.onFrame(slot, f);
    slot.transport.onClose = () => {
      this.c.disconnects++;
      // An unexpected close: reconnect and resume, as a real client library does.
      if (this.running) void this.reconnect(slot, 500);
    };
  }

  private startNext(slot: Slot): void {
    if (!this.running) return;
    const n = this.sessionCounter++;
    const seed = (this.p.clientIndex * 1_000_003 + n * 7919) % 2 ** 31;
    const length = Math.max(1, Math.round(this.p.length * (0.75 + Math.random() * 0.5)));
    const sid = `b${this.p.clientIndex}_${slot.index}_${slot.sessionsRun++}_${Date.now().toString(36)}`;
    const check = n % this.p.checkEvery === 0;
    slot.session = {
      sid,
      seed,
      length,
      sentAt: now(),
      firstToken: false,
      checker: new SeqChecker(this.faults),
      text: check ? '' : null,
      replayedUpTo: 0,
      resumeSentAt: 0,
      resumeAfter: -1,
    };
    this.c.sessionsStarted++;
    slot.transport.start({
      sid,
      input: `bench ${sid}`,
      options: {
        seed,
        length,
        tokensPerSecond: this.p.tokensPerSecond,
        flushIntervalMs: this.p.flushIntervalMs,
        thinkMs: this.p.thinkMs,
      },
    });
  }

  private onFrame(slot: Slot, f: WireFrame): void {
    const s = slot.session;
    if (f.type === 'reply') {
      if (f.ok) {
        if (f.op === 'resume' && s && f.sid === s.sid) s.replayedUpTo = f.lastSeq ?? 0;
        return;
      }
      this.c.requestErrors++;
      const code = f.error?.code ?? 'unknown';
      this.c.errorCodes[code] = (this.c.errorCodes[code] ?? 0) + 1;
      if ((f.op === 'start' || f.op === 'resume') && s && f.sid === s.sid) {
        slot.session = null;
        if (this.running) setTimeout(() => this.startNext(slot), 1000);
      }
      return;
    }
    if (typeof f.seq !== 'number') return; // heartbeat, pong, ...
    if (!s || f.sid !== s.sid) {
      this.c.stray++;
      return;
    }
    const t = now();
    s.checker.see(f.seq);
    if (s.checker.position === f.seq && typeof f.prevPos === 'number') s.pos = f.prevPos;
    this.c.events++;
    if (s.resumeAfter >= 0 && f.seq > s.resumeAfter) {
      this.resumeHist.record(t - s.resumeSentAt);
      s.resumeAfter = -1;
    }
    if (f.seq > s.replayedUpTo && typeof f.ts === 'number') this.latency.record(t - f.ts);
    if (f.type === 'token') {
      if (!s.firstToken) {
        s.firstToken = true;
        this.ttft.record(t - s.sentAt);
      }
      if (s.text !== null) s.text += f.text ?? '';
    } else if (f.type === 'done' || f.type === 'error' || f.type === 'cancelled') {
      this.finish(slot, s, f);
    }
  }

  private finish(slot: Slot, s: Session, f: WireFrame): void {
    this.c.sessionsDone++;
    if (f.type !== 'done') this.c.sessionErrors++;
    if (s.text !== null && f.type === 'done') {
      this.c.textChecked++;
      if (s.text !== builtinText(s.seed, s.length)) {
        this.c.textMismatch++;
        this.c.mismatchSample ??= `${s.sid}: got ${JSON.stringify(s.text.slice(0, 80))}`;
      }
    }
    slot.transport.unsubscribe(s.sid);
    slot.session = null;
    this.startNext(slot);
  }

  /** Drops the connection of a slot and, after `gapMs`, reconnects and resumes where it was. */
  private async reconnect(slot: Slot, gapMs: number): Promise<void> {
    const old = slot.transport;
    old.onFrame = () => undefined;
    old.onClose = () => undefined;
    await sleep(gapMs);
    for (let attempt = 0; ; attempt++) {
      try {
        slot.transport = createTransportFor(this.p, slot.index);
        await slot.transport.open();
        break;
      } catch {
        if (attempt > 20) return;
        await sleep(Math.min(2000, 100 * 2 ** attempt) * Math.random());
      }
    }
    this.wire(slot);
    const s = slot.session;
    if (!s) return this.startNext(slot);
    s.resumeAfter = s.checker.position;
    s.resumeSentAt = now();
    slot.transport.resume(s.sid, s.checker.position, s.pos);
  }

  /**
   * Reconnect storm: drops `fraction` of the streams at once, waits `gapMs` (events pile up in
   * the log), reconnects them all and resumes; resolves when every one got its first missed event.
   */
  async reconnectStorm(fraction: number, gapMs: number, timeoutMs: number): Promise<{ dropped: number }> {
    const victims = this.slots.filter((s) => s.session && s.session.checker.position > 0);
    const chosen = victims.slice(0, Math.max(1, Math.round(this.slots.length * fraction)));
    for (const slot of chosen) slot.transport.drop();
    await Promise.all(chosen.map((slot) => this.reconnect(slot, gapMs)));
    const deadline = now() + timeoutMs;
    while (now() < deadline && chosen.some((s) => s.session && s.session.resumeAfter >= 0)) await sleep(20);
    return { dropped: chosen.length };
  }

  /** Stops starting sessions and waits for the running ones to end. */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.running = false;
    const deadline = now() + timeoutMs;
    while (now() < deadline && this.activeSessions > 0) await sleep(50);
    return { unfinished: this.activeSessions };
  }

  closeAll(): void {
    this.running = false;
    this.idle.close();
    for (const s of this.slots) {
      s.transport.onClose = () => undefined;
      s.transport.close();
    }
  }

  /** Starts a new measurement window (fault counts stay cumulative). */
  resetWindow(): void {
    this.latency.reset();
    this.ttft.reset();
    this.resumeHist.reset();
    for (const k of TOTAL_KEYS) this.acc[k] += this.c[k];
    const sample = this.c.mismatchSample;
    this.c = LoadClient.zero();
    this.c.mismatchSample = sample;
  }

  report(): LoadReport {
    return {
      streams: this.slots.length,
      idleStreams: this.idle.size,
      latency: this.latency.toData(),
      ttft: this.ttft.toData(),
      resume: this.resumeHist.toData(),
      ...this.c,
      faults: { ...this.faults },
      totals: Object.fromEntries(TOTAL_KEYS.map((k) => [k, this.acc[k] + this.c[k]])) as unknown as Totals,
    };
  }
}
