import type { SessionEvent, SessionEventType } from '../../shared/protocol/events.js';
import { reportLater } from './emitter.js';
import { StreamFabricError } from './errors.js';
import { isTerminalEvent } from './wire.js';

/** The event of one type, e.g. `EventOf<'token'>` is a `TokenEvent`. */
export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

/** @internal What a session needs from its client. */
export interface SessionHost {
  cancel(sid: string): void;
}

/**
 * One session as a client sees it: its events in `seq` order, each exactly once, across
 * reconnects. Consume it with `for await (const ev of session)`, with `on(type, cb)`, or just
 * `await session.text()`. Every iterator starts from the first event, so late consumers miss nothing.
 * @example
 * const session = await client.start({ input: 'Hello' });
 * session.on('token', (ev) => out.append(ev.text));
 * const answer = await session.text();
 */
export class StreamSession implements AsyncIterable<SessionEvent> {
  /** The last seq received: the position a resume continues from. */
  lastSeq = 0;
  /** True once the turn ended (`done`, `error` or `cancelled`) or the server refused the session. */
  finished = false;
  /** Set when the gateway confirmed the start (or the resume). */
  acknowledged = false;
  /** Every event received, in order (what a replay from seq 0 would deliver). */
  readonly events: SessionEvent[] = [];
  private readonly listeners = new Map<string, Set<(ev: SessionEvent) => void>>();
  private wakeups: (() => void)[] = [];
  private turnText = '';
  private failure: StreamFabricError | null = null;
  private readonly terminal: Promise<SessionEvent>;
  private resolveTerminal!: (ev: SessionEvent) => void;

  constructor(
    /** The session id: keep it to resume later, from any gateway. */
    readonly sid: string,
    private readonly host: SessionHost,
    /** The prompt, when this client started the session (or restored it from storage). */
    readonly input?: string,
  ) {
    this.terminal = new Promise((r) => {
      this.resolveTerminal = r;
    });
  }

  /**
   * Calls `cb` for each event of `type` (`'*'` for all), from now on. Returns an unsubscribe function.
   * @example session.on('message', (m) => console.log(`${m.agent}: ${m.text}`));
   */
  on<T extends SessionEventType>(type: T, cb: (ev: EventOf<T>) => void): () => void;
  on(type: '*', cb: (ev: SessionEvent) => void): () => void;
  on(type: string, cb: (ev: never) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const fn = cb as (ev: SessionEvent) => void;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Resolves with the full answer text of the turn once it ends; rejects with a {@link StreamFabricError} on `error`. */
  async text(): Promise<string> {
    const ev = await this.terminal;
    if (this.failure) throw this.failure;
    if (ev.type === 'error') throw new StreamFabricError(ev.error);
    return this.turnText;
  }

  /** Resolves with the terminal event (`done`, `error` or `cancelled`); never rejects. */
  finishedEvent(): Promise<SessionEvent> {
    return this.terminal;
  }

  /** Text received so far in this turn (a `restart` in rerun mode clears it). */
  get currentText(): string {
    return this.turnText;
  }

  /** Why the session could not be served, when the server refused it (expired, forbidden, ...). */
  get error(): StreamFabricError | null {
    return this.failure;
  }

  /** Asks the server to stop the turn; the stream then ends with a `cancelled` event. */
  cancel(): void {
    if (!this.finished) this.host.cancel(this.sid);
  }

  /** @internal Feeds an event; returns false for a duplicate (already seen). */
  receive(ev: SessionEvent): boolean {
    if (ev.seq <= this.lastSeq || this.finished) return false;
    this.lastSeq = ev.seq;
    if (ev.type === 'token') this.turnText += ev.text;
    else if ((ev.type === 'restart' && ev.mode === 'rerun') || ev.type === 'user_message') this.turnText = '';
    this.events.push(ev);
    if (isTerminalEvent(ev)) this.finished = true;
    for (const key of [ev.type, '*']) {
      for (const cb of this.listeners.get(key) ?? []) {
        try {
          cb(ev);
        } catch (err) {
          reportLater(err);
        }
      }
    }
    if (this.finished) this.resolveTerminal(ev);
    this.wake();
    return true;
  }

  /** @internal The server refused the session, or the client closed for good. */
  reject(err: StreamFabricError): void {
    if (this.finished) return;
    this.failure = err;
    this.finished = true;
    this.resolveTerminal({
      sid: this.sid,
      seq: this.lastSeq + 1,
      ts: Date.now(),
      type: 'error',
      error: err.toJSON(),
    });
    this.wake();
  }

  private wake(): void {
    for (const w of this.wakeups.splice(0)) w();
  }

  /** Iterates every event from the first one; ends after the terminal event, throws if the session was refused. */
  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    let i = 0;
    const next = async (): Promise<IteratorResult<SessionEvent>> => {
      for (;;) {
        const ev = this.events[i];
        if (ev) {
          i++;
          return { value: ev, done: false };
        }
        if (this.finished) {
          // A refused session has no terminal event in its log: surface the typed error to `for await`.
          if (this.failure) throw this.failure;
          return { value: undefined, done: true };
        }
        await new Promise<void>((r) => this.wakeups.push(r));
      }
    };
    return { next };
  }
}
