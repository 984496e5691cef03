import type { ClientFrame } from '../../shared/protocol/client-frames.js';
import type { SessionEvent } from '../../shared/protocol/events.js';
import type { ReplyFrame } from '../../shared/protocol/server-frames.js';
import { backoffDelay } from './backoff.js';
import { ConnectionMachine } from './connection.js';
import { Emitter } from './emitter.js';
import { StreamFabricError } from './errors.js';
import { StreamSession } from './session.js';
import { SessionStore, type StorageLike } from './session-store.js';
import type { ClientEvents, ClientOptions, ConnectionState, StartOptions } from './types.js';

/** Per-session bookkeeping: the start request until acknowledged, and retry/resync flags. */
interface Tracked {
  session: StreamSession;
  start?: StartOptions & { sid: string };
  retries: number;
  /** `prevPos` of the last event received: sent back on resume so the gateway reads the log from there. */
  pos?: number;
  /** `epoch` of the last event received: sent back on resume so a rewritten log is detected. */
  epoch?: string;
  /** When the first of the current run of retryable refusals arrived (ms), reset by a success. */
  retryingSince?: number;
  resyncing: boolean;
  /** A follow-up turn sent but not yet acknowledged (re-sent after a reconnect; idempotent by turn). */
  message?: { text: string; turn: number };
  /** Keep following until this turn has ended (a finished session is reopened by its next turn). */
  awaitTurn?: number;
  /**
   * Keep following until this seq (the log's end when a resume was served): a replay from seq 0
   * of a conversation passes the end of every earlier turn before it reaches the last one.
   */
  catchUpTo?: number;
  /** Ask for the conversation snapshot on resume while nothing is held yet (a new device, a reload). */
  snapshot?: boolean;
}

/**
 * How long a session's start/resume keeps being retried after retryable refusals (e.g.
 * `unavailable` while a NATS node fails over, which can take several seconds) before it fails.
 */
const DEFAULT_RETRY_TIMEOUT_MS = 60_000;

function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = 's_';
  for (const b of bytes) s += abc[b & 63];
  return s;
}

/**
 * A StreamFabric client: one WebSocket, many concurrent sessions. On every (re)connect it
 * resumes each unfinished session from its last seq; events are delivered in order, exactly
 * once (duplicates dropped, gaps re-requested). Failures reconnect with full-jitter backoff.
 * @example
 * const client = new StreamFabricClient({ url: 'ws://localhost:8080/v1/ws' });
 * const session = await client.start({ input: 'Hello', options: { seed: 42 } });
 * for await (const ev of session) if (ev.type === 'token') process.stdout.write(ev.text);
 */
export class StreamFabricClient {
  private readonly conn: ConnectionMachine;
  private readonly store: SessionStore | null;
  private readonly events = new Emitter<ClientEvents>();
  private readonly tracked = new Map<string, Tracked>();
  /** Every session object handed out, so a finished conversation can take a follow-up turn. */
  private readonly known = new Map<string, StreamSession>();
  private readonly retryTimeoutMs: number;

  constructor(opts: ClientOptions) {
    this.retryTimeoutMs = opts.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS;
    this.conn = new ConnectionMachine(opts, {
      state: (next, prev, reason) => this.events.emit('state', next, prev, reason),
      opened: (gateway) => {
        this.events.emit('welcome', gateway);
        for (const t of this.tracked.values()) this.subscribe(t);
      },
      frame: (f) =>
        f.kind === 'event' ? this.onEvent(f.event) : f.frame.type === 'reply' && this.onReply(f.frame),
      closed: (err, notify) => {
        if (notify) this.events.emit('error', err);
        for (const t of this.tracked.values()) t.session.reject(err);
        this.tracked.clear();
      },
    });
    const p = opts.persist;
    if (p === true) {
      const tabStorage = (globalThis as { sessionStorage?: StorageLike }).sessionStorage;
      this.store = tabStorage ? new SessionStore(tabStorage) : null;
    } else {
      this.store = p ? new SessionStore(p.storage, p.key, p.max) : null;
    }
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.conn.state;
  }

  /** The id of the gateway this client is connected to (from its welcome), for display. */
  get gateway(): string {
    return this.conn.gateway;
  }

  /** Listens to `state`, `welcome` or `error`. Returns an unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, cb: ClientEvents[K]): () => void {
    return this.events.on(event, cb);
  }

  /** Opens the connection (`start`, `resume` and `restore` do it lazily). Resolves on `welcome`. */
  connect(): Promise<void> {
    return this.conn.connect();
  }

  /** Starts a session; its events stream into the returned {@link StreamSession}. */
  async start(s: StartOptions): Promise<StreamSession> {
    const sid = s.sid ?? randomId();
    const existing = this.tracked.get(sid);
    if (existing) return existing.session;
    const t = this.track(sid, s.input, { ...s, sid });
    this.store?.put({ sid, input: s.input, start: { ...s, sid }, createdAt: Date.now() });
    await this.attach(t);
    return t.session;
  }

  /**
   * Follows an existing session from `after` (0 = from its first event, which rebuilds its whole
   * text). With `snapshot: true` and nothing held yet, the gateway may answer with the conversation
   * as it stands (its snapshot) and send only the events after it: `session.turns` is complete at
   * once, while `session.events` holds only the events after the snapshot.
   */
  async resume(sid: string, after = 0, opts: { snapshot?: boolean } = {}): Promise<StreamSession> {
    const t = this.tracked.get(sid) ?? this.track(sid);
    t.session.lastSeq = Math.max(t.session.lastSeq, after);
    if (opts.snapshot) t.snapshot = true;
    await this.attach(t);
    return t.session;
  }

  /**
   * Re-attaches the sessions a previous page of this tab persisted (needs `persist`), oldest
   * first, each from its conversation snapshot plus the events after it (from seq 0 when the
   * session has no snapshot), so its text is rebuilt exactly. Starts that were never acknowledged
   * are re-sent (idempotent by session id).
   * @example for (const s of client.restore()) render(s);
   */
  restore(): StreamSession[] {
    const out: StreamSession[] = [];
    for (const rec of this.store?.list() ?? []) {
      const start = rec.start && { ...rec.start, sid: rec.sid };
      const t = this.tracked.get(rec.sid) ?? this.track(rec.sid, rec.input, start);
      t.snapshot = true;
      out.push(t.session);
      this.attach(t).catch(() => undefined); // failures reach the session and the `error` event
    }
    return out;
  }

  /** Stops following a session here and drops it from storage (the session itself goes on). */
  forget(sid: string): void {
    this.store?.remove(sid);
    if (this.tracked.delete(sid)) this.conn.send({ type: 'unsubscribe', sid });
  }

  /** Drops the socket as a network failure would (for demos and tests); the client reconnects and resumes. */
  dropConnection(): void {
    this.conn.drop('dropped by client');
  }

  /** Closes for good: no reconnect; unfinished sessions reject with `unavailable`. */
  close(): void {
    this.conn.close(
      new StreamFabricError({ code: 'unavailable', message: 'client closed', retryable: false }),
    );
  }

  private async attach(t: Tracked): Promise<void> {
    if (this.conn.state === 'open') this.subscribe(t);
    else await this.conn.connect(); // the welcome subscribes every tracked session
  }

  private onEvent(ev: SessionEvent): void {
    const t = this.tracked.get(ev.sid);
    if (!t || ev.seq <= t.session.lastSeq) return; // unknown session or duplicate
    if (ev.seq > t.session.lastSeq + 1) {
      // A gap is never silent: ask again from what we hold (once, until it is filled).
      if (!t.resyncing) this.conn.send(this.resumeFrame(t));
      t.resyncing = true;
      return;
    }
    t.resyncing = false;
    t.pos = ev.prevPos;
    t.epoch = ev.epoch;
    t.session.receive(ev);
    const waiting = t.awaitTurn !== undefined && t.session.turns.length < t.awaitTurn;
    const catchingUp = t.catchUpTo !== undefined && ev.seq < t.catchUpTo;
    if (t.session.finished && !waiting && !catchingUp && !t.message) this.tracked.delete(ev.sid);
  }

  private onReply(f: ReplyFrame): void {
    const t = f.sid ? this.tracked.get(f.sid) : undefined;
    if (t && f.op === 'message') {
      const sent = t.message;
      t.message = undefined;
      if (!f.ok && sent) {
        t.awaitTurn = undefined;
        t.session.failTurn(
          sent.turn,
          new StreamFabricError(f.error ?? { code: 'internal', message: 'message failed', retryable: true }),
        );
        if (t.session.finished) this.tracked.delete(t.session.sid);
      }
      return;
    }
    const op = f.op === 'start' || f.op === 'resume';
    if (f.ok) {
      if (t && op) {
        if (f.op === 'resume' && f.lastSeq !== undefined) t.catchUpTo = f.lastSeq;
        if (f.op === 'resume' && f.conversation && t.session.lastSeq === 0) {
          // The conversation up to its snapshot; the events after it follow on this socket.
          t.session.restoreSnapshot(f.conversation);
          t.pos = undefined;
          const catchingUp = t.catchUpTo !== undefined && t.session.lastSeq < t.catchUpTo;
          if (t.session.finished && !catchingUp && !t.message && t.awaitTurn === undefined) {
            this.tracked.delete(t.session.sid);
          }
        }
        t.session.acknowledged = true;
        t.retries = 0;
        t.retryingSince = undefined;
        if (t.start) this.store?.acknowledge(t.session.sid);
        t.start = undefined;
      }
      return;
    }
    const err = new StreamFabricError(
      f.error ?? { code: 'internal', message: 'request failed', retryable: true },
    );
    if (t && op && err.code === 'log_rewritten') {
      // The log we read was lost and written again: drop our copy, read it again from seq 1.
      t.pos = undefined;
      t.epoch = undefined;
      t.session.dropLog();
      this.subscribe(t);
      return;
    }
    if (t && op) {
      const now = Date.now();
      t.retryingSince ??= now;
      if (err.retryable && now - t.retryingSince < this.retryTimeoutMs) {
        const delay = err.retryAfterMs ?? backoffDelay(t.retries++, this.conn.backoff);
        setTimeout(() => this.tracked.get(t.session.sid) === t && this.subscribe(t), delay);
        return;
      }
      this.tracked.delete(t.session.sid);
      this.store?.remove(t.session.sid);
      t.session.reject(err);
    }
    this.events.emit('error', err);
  }

  private track(sid: string, input?: string, start?: StartOptions & { sid: string }): Tracked {
    const host = {
      cancel: (id: string) => this.conn.send({ type: 'cancel', sid: id }),
      message: (id: string, text: string, turn: number) => this.sendMessage(id, text, turn),
      input: (id: string, requestId: string, text: string) =>
        this.conn.send({ type: 'input', sid: id, requestId, text }),
    };
    let session = this.known.get(sid);
    if (!session) {
      session = new StreamSession(sid, host, input);
      this.known.set(sid, session);
    }
    const t: Tracked = { session, retries: 0, resyncing: false };
    if (start) t.start = start;
    this.tracked.set(sid, t);
    return t;
  }

  /** A follow-up turn: follow the session again (it may have finished here) and send the message. */
  private sendMessage(sid: string, text: string, turn: number): void {
    const t = this.tracked.get(sid) ?? this.track(sid);
    t.message = { text, turn };
    t.awaitTurn = turn;
    if (this.conn.state === 'open') {
      this.conn.send(this.resumeFrame(t));
      this.conn.send({ type: 'message', sid, text, turn });
    } else {
      this.conn.connect().catch(() => undefined); // the welcome re-subscribes and re-sends it
    }
  }

  /** Sends the start (until acknowledged, while nothing was received) or a resume from the last seq. */
  private subscribe(t: Tracked): void {
    t.resyncing = false;
    const { session, start } = t;
    if (start && session.lastSeq === 0) {
      const { sid, agent, input, options } = start;
      this.conn.send({
        type: 'start',
        sid,
        agent: agent ?? 'builtin',
        input,
        ...(options ? { options } : {}),
      });
    } else {
      this.conn.send(this.resumeFrame(t));
    }
    if (t.message)
      this.conn.send({ type: 'message', sid: session.sid, text: t.message.text, turn: t.message.turn });
  }

  /** A resume from the last seq held, with the log position hint when the last event carried one. */
  private resumeFrame(t: Tracked): ClientFrame {
    const { sid, lastSeq } = t.session;
    return {
      type: 'resume',
      sid,
      after: lastSeq,
      ...(t.pos !== undefined && lastSeq > 0 ? { pos: t.pos } : {}),
      ...(t.epoch !== undefined && lastSeq > 0 ? { epoch: t.epoch } : {}),
      ...(t.snapshot && lastSeq === 0 ? { snapshot: true } : {}),
    };
  }
}
