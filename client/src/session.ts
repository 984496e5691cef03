import type { SessionEvent } from '../../shared/protocol/index.js';
import { StreamFabricError } from './errors.js';

type Listener = (ev: SessionEvent) => void;

/**
 * One session as a client sees it: events in seq order, exactly once. Consume it with
 * `for await (const ev of session)`, with `on(type, cb)`, or just `await session.text()`.
 */
export class StreamSession implements AsyncIterable<SessionEvent> {
  /** The last seq received: the position a resume continues from. */
  lastSeq = 0;
  /** True once the turn ended (`done`, `error` or `cancelled`). */
  finished = false;
  /** Set when the server confirmed the start (or resume). */
  acknowledged = false;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly queue: SessionEvent[] = [];
  private waiters: ((r: IteratorResult<SessionEvent>) => void)[] = [];
  private turnText = '';
  private readonly terminal: Promise<SessionEvent>;
  private resolveTerminal!: (ev: SessionEvent) => void;
  private failure: StreamFabricError | null = null;

  constructor(
    readonly sid: string,
    private readonly sendCancel: (sid: string) => void,
  ) {
    this.terminal = new Promise((r) => {
      this.resolveTerminal = r;
    });
    this.terminal.catch(() => undefined);
  }

  /** Calls `cb` for events of `type` ('*' for all). Returns an unsubscribe function. */
  on(type: SessionEvent['type'] | '*', cb: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(cb);
    return () => set.delete(cb);
  }

  /** Resolves with the full answer text of the turn once it ends (rejects on `error`). */
  async text(): Promise<string> {
    const ev = await this.terminal;
    if (ev.type === 'error') throw new StreamFabricError(ev.error);
    if (this.failure) throw this.failure;
    return this.turnText;
  }

  /** Resolves with the terminal event (`done`, `error` or `cancelled`). */
  finishedEvent(): Promise<SessionEvent> {
    return this.terminal;
  }

  /** Text received so far in this turn (a `restart` in rerun mode clears it). */
  get currentText(): string {
    return this.turnText;
  }

  /** Asks the server to stop the turn; the stream then ends with `cancelled`. */
  cancel(): void {
    this.sendCancel(this.sid);
  }

  /** @internal Feeds an event; returns false when it is a duplicate (already seen). */
  receive(ev: SessionEvent): boolean {
    if (ev.seq <= this.lastSeq) return false;
    this.lastSeq = ev.seq;
    if (ev.type === 'token') this.turnText += ev.text;
    if (ev.type === 'restart' && ev.mode === 'rerun') this.turnText = '';
    if (ev.type === 'user_message') this.turnText = '';
    this.emit(ev);
    if (ev.type === 'done' || ev.type === 'error' || ev.type === 'cancelled') {
      this.finished = true;
      this.resolveTerminal(ev);
      this.end();
    }
    return true;
  }

  /** @internal The server refused the session (expired, forbidden, ...). */
  reject(err: StreamFabricError): void {
    this.failure = err;
    this.finished = true;
    const ev: SessionEvent = {
      sid: this.sid,
      seq: this.lastSeq + 1,
      ts: Date.now(),
      type: 'error',
      error: { code: err.code, message: err.message, retryable: err.retryable },
    };
    this.resolveTerminal(ev);
    this.end();
  }

  private emit(ev: SessionEvent): void {
    for (const key of [ev.type, '*']) for (const cb of this.listeners.get(key) ?? []) cb(ev);
    const w = this.waiters.shift();
    if (w) w({ value: ev, done: false });
    else this.queue.push(ev);
  }

  private end(): void {
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionEvent> {
    return {
      next: () => {
        const ev = this.queue.shift();
        if (ev) return Promise.resolve({ value: ev, done: false });
        if (this.finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise((r) => this.waiters.push(r));
      },
    };
  }
}
