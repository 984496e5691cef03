import {
  applyEvent,
  type Conversation,
  type ConversationTurn,
  emptyConversation,
  type InputExchange,
  pendingInput,
} from '../../shared/protocol/conversation.js';
import type { SessionEvent, SessionEventType } from '../../shared/protocol/events.js';
import { reportLater } from './emitter.js';
import { StreamFabricError } from './errors.js';
import { isTerminalEvent } from './wire.js';

/** The event of one type, e.g. `EventOf<'token'>` is a `TokenEvent`. */
export type EventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;

/** @internal What a session needs from its client. */
export interface SessionHost {
  cancel(sid: string): void;
  /** Sends a follow-up turn (`message` frame). */
  message(sid: string, text: string, turn: number): void;
  /** Answers an agent's question (`input` frame). */
  input(sid: string, requestId: string, text: string): void;
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
  private terminal!: Promise<SessionEvent>;
  private resolveTerminal!: (ev: SessionEvent) => void;
  private conversation: Conversation = emptyConversation();
  /**
   * How many times the session's log was found rewritten (lost and written again, e.g. after a
   * whole-cluster crash): each time the session dropped every event and read the log again from
   * seq 1. Iterators then restart from the first event; `onRewritten` callbacks are called.
   */
  rewrites = 0;
  private readonly rewriteListeners = new Set<() => void>();
  private readonly turnWaiters = new Map<
    number,
    { resolve: (text: string) => void; reject: (e: Error) => void }
  >();

  constructor(
    /** The session id: keep it to resume later, from any gateway. */
    readonly sid: string,
    private readonly host: SessionHost,
    /** The prompt, when this client started the session (or restored it from storage). */
    readonly input?: string,
  ) {
    this.resetTerminal();
  }

  private resetTerminal(): void {
    this.terminal = new Promise((r) => {
      this.resolveTerminal = r;
    });
  }

  /**
   * The conversation so far, rebuilt from the events (the same fold the workers use): each turn's
   * user message, streamed answer, agent messages (with names) and questions asked.
   */
  get turns(): readonly ConversationTurn[] {
    return this.conversation.turns;
  }

  /** The agent's unanswered question, when the session waits for the user; answer it with {@link answer}. */
  get pendingInput(): InputExchange | null {
    return pendingInput(this.conversation);
  }

  /**
   * Sends a follow-up turn once the current one has ended; resolves with the new turn's answer
   * text (rejects with a typed error, e.g. `busy` while a turn is still running).
   * @example const reply = await session.send('And in French?');
   */
  send(text: string): Promise<string> {
    if (!this.finished || this.turnWaiters.size > 0) {
      const busy = { code: 'busy' as const, message: 'the current turn has not ended yet', retryable: true };
      return Promise.reject(new StreamFabricError(busy));
    }
    const turn = this.conversation.turns.length + 1;
    const p = new Promise<string>((resolve, reject) => this.turnWaiters.set(turn, { resolve, reject }));
    this.host.message(this.sid, text, turn);
    return p;
  }

  /** Answers the agent's question `requestId` (see {@link pendingInput}). */
  answer(requestId: string, text: string): void {
    this.host.input(this.sid, requestId, text);
  }

  /** @internal The gateway refused a follow-up turn. */
  failTurn(turn: number, err: StreamFabricError): void {
    this.turnWaiters.get(turn)?.reject(err);
    this.turnWaiters.delete(turn);
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

  /**
   * @internal Starts from a conversation snapshot (a resume that asked for one, before any event):
   * the turns as they stand up to `c.lastSeq`; the events after it are then received as usual.
   */
  restoreSnapshot(c: Conversation): void {
    if (this.lastSeq > 0 || c.lastSeq === 0) return;
    this.conversation.turns = structuredClone(c.turns);
    this.conversation.lastSeq = c.lastSeq;
    this.lastSeq = c.lastSeq;
    const t = this.conversation.turns.at(-1);
    this.turnText = t?.assistant ?? '';
    if (t?.outcome) {
      this.finished = true;
      this.resolveTerminal(snapshotTerminal(this.sid, c.lastSeq, t));
    }
    this.wake();
  }

  /** @internal Feeds an event; returns false for a duplicate (already seen). */
  receive(ev: SessionEvent): boolean {
    if (ev.seq <= this.lastSeq) return false;
    if (this.finished) {
      // A follow-up turn reopens a conversation; anything else after the end is not ours to take.
      if (ev.type !== 'user_message' || this.failure) return false;
      this.finished = false;
      this.resetTerminal();
    }
    this.lastSeq = ev.seq;
    applyEvent(this.conversation, ev);
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
    if (this.finished) {
      this.resolveTerminal(ev);
      const t = this.conversation.turns.at(-1);
      const waiter = t && this.turnWaiters.get(t.turn);
      if (t && waiter) {
        this.turnWaiters.delete(t.turn);
        if (ev.type === 'error') waiter.reject(new StreamFabricError(ev.error));
        else waiter.resolve(t.assistant);
      }
    }
    this.wake();
    return true;
  }

  /**
   * Calls `cb` when the log this session was read from turned out rewritten (`log_rewritten`):
   * what was shown must be dropped; the events arrive again from seq 1. Returns an unsubscribe function.
   */
  onRewritten(cb: () => void): () => void {
    this.rewriteListeners.add(cb);
    return () => this.rewriteListeners.delete(cb);
  }

  /** @internal The gateway answered `log_rewritten`: forget every event; the client re-reads from 0. */
  dropLog(): void {
    this.rewrites++;
    this.lastSeq = 0;
    this.events.length = 0;
    this.conversation = emptyConversation();
    this.turnText = '';
    if (this.finished && !this.failure) {
      this.finished = false;
      this.resetTerminal();
    }
    for (const cb of this.rewriteListeners) {
      try {
        cb();
      } catch (err) {
        reportLater(err);
      }
    }
    this.wake();
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
    let rewrites = this.rewrites;
    const next = async (): Promise<IteratorResult<SessionEvent>> => {
      for (;;) {
        if (rewrites !== this.rewrites) {
          // The log was rewritten: the events this iterator yielded are void; start over from seq 1.
          rewrites = this.rewrites;
          i = 0;
        }
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

/**
 * The terminal event a snapshot implies for its last turn (the snapshot keeps the outcome, not the
 * event): what `finishedEvent()` resolves with for a conversation restored from a snapshot.
 */
function snapshotTerminal(sid: string, seq: number, t: ConversationTurn): SessionEvent {
  const base = { sid, seq, ts: Date.now() };
  if (t.outcome === 'cancelled') return { ...base, type: 'cancelled' };
  if (t.outcome === 'error')
    return {
      ...base,
      type: 'error',
      error: { code: 'agent_error', message: 'the last turn ended with an error', retryable: false },
    };
  return { ...base, type: 'done', finishReason: t.finishReason ?? 'stop', tokens: 0, durationMs: 0 };
}
