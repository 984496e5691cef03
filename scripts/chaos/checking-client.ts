import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { demoText } from '../topology/bridge-demo.js';

/** One session, fully determined by its options: of the built-in model, or of `agent`. */
export interface SessionSpec {
  seed: number;
  length: number;
  tokensPerSecond: number;
  flushIntervalMs: number;
  /** Set for the AutoGen bridge's demo assistant (its answer is demo.py's `demo_text`). */
  agent?: string;
}

/** The exact answer a session must end with. */
function expectedText(spec: SessionSpec, input: string): string {
  return spec.agent ? demoText('assistant', input, spec.length) : builtinText(spec.seed, spec.length);
}

export type SessionOutcome = 'done' | 'error' | 'cancelled' | 'unfinished';

/** What one checked session looked like from the application's side of the client library. */
export interface SessionCheck {
  sid: string;
  spec: SessionSpec;
  outcome: SessionOutcome;
  error?: string;
  events: number;
  /** Seqs never received (holes below the highest seq seen). */
  lost: number;
  duplicated: number;
  reordered: number;
  textOk: boolean;
  restarts: number;
}

/**
 * A client-library client (the `ws` WebSocket, several gateway URLs) that runs sessions and
 * checks every event the library hands to the application: seq contiguous from 1, no duplicate,
 * no reorder, the final text equal to the model's text for the spec (built-in or bridge demo). It also measures,
 * after each reconnect, the time from the new connection's welcome to each unfinished session's
 * first resumed event.
 */
export class CheckingClient {
  readonly client: StreamFabricClient;
  reconnects = 0;
  /**
   * Welcome (after a reconnect) to the first event of each waiting session, ms, split by where
   * that event came from: replayed from the log (the event was stored before the resume was
   * served: the resume path itself) or live (the session had nothing new: this includes waiting
   * for the producer, e.g. a worker's job being redelivered).
   */
  readonly replayLatencies: number[] = [];
  /** The same replays with when they began (performance.now()) and on which session, for the report's slowest. */
  readonly replaySamples: { since: number; ms: number; sid: string }[] = [];
  readonly liveLatencies: number[] = [];
  /** Socket lost (state 'reconnecting') to the first resumed event, ms: the outage a user sees. */
  readonly outageLatencies: number[] = [];
  private readonly waiting = new Map<string, { since: number | null; lostAt: number | null }>();
  private lostAt: number | null = null;
  /** Per session: the last seq stored when the gateway served our latest resume (its reply). */
  private readonly resumeHead = new Map<string, number>();

  constructor(
    readonly name: string,
    urls: string[],
    backoff = { baseMs: 100, maxMs: 1_000 },
  ) {
    const heads = this.resumeHead;
    // Reads resume replies off the wire before the library does (the library keeps lastSeq to itself).
    class TapWebSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        this.on('message', (d: Buffer) => {
          const text = d.toString();
          if (!text.startsWith('{"type":"reply"')) return;
          const f = JSON.parse(text) as { op?: string; ok?: boolean; sid?: string; lastSeq?: number };
          if (f.op === 'resume' && f.ok && f.sid && typeof f.lastSeq === 'number')
            heads.set(f.sid, f.lastSeq);
        });
      }
    }
    this.client = new StreamFabricClient({ url: urls, WebSocket: TapWebSocket as never, backoff });
    let welcomes = 0;
    this.client.on('state', (s) => {
      if (s === 'reconnecting' && this.lostAt === null) this.lostAt = performance.now();
    });
    this.client.on('welcome', () => {
      if (++welcomes === 1) return;
      this.reconnects++;
      this.resumeHead.clear();
      const now = performance.now();
      for (const w of this.waiting.values()) {
        w.since = now;
        w.lostAt = this.lostAt;
      }
      this.lostAt = null;
    });
  }

  /** Runs one session to its end (or `timeoutMs`) and returns what was checked. */
  async run(spec: SessionSpec, timeoutMs: number): Promise<SessionCheck> {
    const input = `chaos ${spec.seed}`;
    const session = await this.client.start({
      ...(spec.agent ? { agent: spec.agent } : {}),
      input,
      options: {
        seed: spec.seed,
        length: spec.length,
        tokensPerSecond: spec.tokensPerSecond,
        flushIntervalMs: spec.flushIntervalMs,
      },
    });
    const wait = { since: null as number | null, lostAt: null as number | null };
    this.waiting.set(session.sid, wait);
    const check: SessionCheck = {
      sid: session.sid,
      spec,
      outcome: 'unfinished',
      events: 0,
      lost: 0,
      duplicated: 0,
      reordered: 0,
      textOk: false,
      restarts: 0,
    };
    const seen = new Set<number>();
    let max = 0;
    session.on('*', (ev) => {
      check.events++;
      if (wait.since !== null) {
        const now = performance.now();
        const head = this.resumeHead.get(session.sid);
        const replayed = head !== undefined && ev.seq <= head;
        (replayed ? this.replayLatencies : this.liveLatencies).push(now - wait.since);
        if (replayed) this.replaySamples.push({ since: wait.since, ms: now - wait.since, sid: session.sid });
        if (wait.lostAt !== null) this.outageLatencies.push(now - wait.lostAt);
        wait.since = null;
      }
      if (seen.has(ev.seq)) check.duplicated++;
      else if (ev.seq < max) check.reordered++;
      seen.add(ev.seq);
      max = Math.max(max, ev.seq);
      if (ev.type === 'restart') check.restarts++;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    const terminal = await Promise.race([session.finishedEvent(), timeout]);
    clearTimeout(timer);
    this.waiting.delete(session.sid);
    for (let s = 1; s <= max; s++) if (!seen.has(s)) check.lost++;
    if (terminal) {
      check.outcome = terminal.type as SessionOutcome;
      if (terminal.type === 'error') check.error = `${terminal.error.code}: ${terminal.error.message}`;
    }
    check.textOk = check.outcome === 'done' && session.currentText === expectedText(spec, input);
    return check;
  }

  close(): void {
    this.client.close();
  }
}
