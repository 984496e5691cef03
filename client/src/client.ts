import {
  type ClientFrame,
  ControlFrame,
  isSessionEvent,
  SessionEvent,
  type SessionOptions,
  shouldReconnect,
  WS_SUBPROTOCOL,
} from '../../shared/protocol/index.js';
import { backoffDelay } from './backoff.js';
import { StreamFabricError } from './errors.js';
import { StreamSession } from './session.js';

/** The connection's state; `state` events report every change with the previous one. */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The minimal WebSocket surface the client needs (the browser's, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ClientOptions {
  /** Gateway WebSocket URL(s) (`ws://host:port/v1/ws`); on reconnect the client rotates through them. */
  url: string | string[];
  /** WebSocket constructor: the browser's by default; pass `ws`'s `WebSocket` in Node. */
  WebSocket?: WebSocketCtor;
  /** Reconnect backoff (full jitter). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Extra WebSocket subprotocols (e.g. a bearer token for browsers). */
  protocols?: string[];
}

export interface StartOptions {
  input: string;
  agent?: string;
  options?: SessionOptions;
  /** Choose the session id yourself (e.g. to make a retried start idempotent). */
  sid?: string;
}

type Handler = (...args: never[]) => void;

/** Retries of one session's start/resume after retryable refusals before it fails (minutes with backoff). */
const MAX_SESSION_RETRIES = 20;

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[b & 63];
  return `s_${s}`;
}

/**
 * A StreamFabric client: one WebSocket, many sessions, automatic reconnect (full-jitter
 * backoff) that resumes every unfinished session from its last seq with duplicates dropped.
 * @example
 * const client = new StreamFabricClient({ url: 'ws://localhost:8080/v1/ws' });
 * const session = await client.start({ input: 'Hello' });
 * for await (const ev of session) if (ev.type === 'token') process.stdout.write(ev.text);
 */
export class StreamFabricClient {
  state: ConnectionState = 'idle';
  private ws: WebSocketLike | null = null;
  private readonly urls: string[];
  private urlIndex = 0;
  private attempt = 0;
  private readonly sessions = new Map<string, StreamSession>();
  private readonly pendingStarts = new Map<string, StartOptions>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly Ctor: WebSocketCtor;
  private heartbeatMs = 15_000;
  private lastFrameAt = 0;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private openWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Per session: the position a gap already made us resume from. */
  private readonly gapResumes = new Map<string, number>();
  /** Per session: retries of a start/resume refused with a retryable error. */
  private readonly retries = new Map<string, number>();

  constructor(private readonly opts: ClientOptions) {
    this.urls = Array.isArray(opts.url) ? opts.url : [opts.url];
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!ctor)
      throw new Error(
        'no WebSocket implementation: pass { WebSocket } (in Node: import { WebSocket } from "ws")',
      );
    this.Ctor = ctor;
  }

  /** Listens to connection events: `state` (new, old), `welcome` (gateway id), `error` (StreamFabricError). */
  on(event: 'state', cb: (state: ConnectionState, previous: ConnectionState) => void): () => void;
  on(event: 'welcome', cb: (gateway: string) => void): () => void;
  on(event: 'error', cb: (err: StreamFabricError) => void): () => void;
  on(event: string, cb: Handler): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(cb);
    return () => set.delete(cb);
  }

  /** Opens the connection (also done lazily by `start`/`resume`). */
  connect(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.openWaiters.push({ resolve, reject }));
    if (this.state === 'idle' || this.state === 'closed') this.open();
    return p;
  }

  /** Starts a session; events stream into the returned session. */
  async start(s: StartOptions): Promise<StreamSession> {
    const sid = s.sid ?? randomId();
    const session = this.track(sid);
    this.pendingStarts.set(sid, { ...s, sid });
    // When not yet open, the welcome handler sends it (with every other unconfirmed start).
    if (this.state === 'open') this.sendStart(sid);
    else await this.connect();
    return session;
  }

  /** Follows an existing session from `after` (0 = from its first event). */
  async resume(sid: string, after = 0): Promise<StreamSession> {
    const session = this.track(sid);
    session.lastSeq = Math.max(session.lastSeq, after);
    if (this.state === 'open') this.send({ type: 'resume', sid, after: session.lastSeq });
    else await this.connect();
    return session;
  }

  /** The gateway this client is connected to (from its welcome), for display. */
  gateway = '';

  /** Drops the socket as a network failure would (for demos and tests); the client reconnects and resumes. */
  dropConnection(): void {
    this.ws?.close(4999, 'dropped by client');
  }

  /** Closes for good: no reconnect. */
  close(): void {
    this.setState('closed');
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    this.ws?.close(1000, 'client closed');
    this.ws = null;
  }

  private track(sid: string): StreamSession {
    let session = this.sessions.get(sid);
    if (!session) {
      session = new StreamSession(sid, (id) => this.send({ type: 'cancel', sid: id }));
      this.sessions.set(sid, session);
    }
    return session;
  }

  private sendStart(sid: string): void {
    const s = this.pendingStarts.get(sid);
    if (!s) return;
    this.send({
      type: 'start',
      sid,
      agent: s.agent ?? 'builtin',
      input: s.input,
      ...(s.options ? { options: s.options } : {}),
    } as ClientFrame);
  }

  private send(frame: ClientFrame): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  private setState(next: ConnectionState): void {
    const prev = this.state;
    if (prev === next) return;
    this.state = next;
    this.emit('state', next, prev);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const cb of this.handlers.get(event) ?? []) (cb as (...a: unknown[]) => void)(...args);
  }

  private open(): void {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const ws = new this.Ctor(url, [WS_SUBPROTOCOL, ...(this.opts.protocols ?? [])]);
    this.ws = ws;
    // The watchdog runs from the first byte of the attempt: a handshake that hangs (a black-holed
    // host) is as dead as a silent open link.
    this.lastFrameAt = Date.now();
    this.startWatchdog();
    ws.onmessage = (ev) => {
      this.lastFrameAt = Date.now();
      this.onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    };
    ws.onerror = () => undefined; // onclose follows and decides
    ws.onclose = (ev) => this.lost(ws, ev.code, ev.reason);
  }

  /** The one funnel for a lost socket: decide between giving up and reconnecting. */
  private lost(ws: WebSocketLike, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.state === 'closed') return;
    if (!shouldReconnect(code)) {
      this.setState('closed');
      const err = new StreamFabricError({
        code: 'forbidden',
        message: `closed by server: ${code} ${reason}`,
        retryable: false,
      });
      this.emit('error', err);
      for (const w of this.openWaiters.splice(0)) w.reject(err);
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(delayMs?: number): void {
    this.setState('reconnecting');
    this.urlIndex++;
    const delay = delayMs ?? this.backoff(this.attempt++);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private backoff(attempt: number): number {
    return backoffDelay(attempt, {
      baseMs: this.opts.backoff?.baseMs ?? 250,
      maxMs: this.opts.backoff?.maxMs ?? 10_000,
    });
  }

  private startWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = setInterval(
      () => {
        const ws = this.ws;
        if (!ws || Date.now() - this.lastFrameAt <= this.heartbeatMs * 2.5) return;
        // Silence past the heartbeat: the link is dead even if TCP has not noticed. Do not wait
        // for a close handshake that cannot complete (ws waits 30 s): drop it and move on now.
        ws.onclose = null;
        ws.onmessage = null;
        try {
          ws.close(4101, 'heartbeat timeout');
        } catch {
          // already closing
        }
        this.lost(ws, 4101, 'heartbeat timeout');
      },
      Math.min(1_000, this.heartbeatMs),
    );
  }

  private onFrame(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    if (isSessionEvent(json as { type: string })) {
      const parsed = SessionEvent.safeParse(json);
      if (!parsed.success) return;
      const ev = parsed.data;
      const session = this.sessions.get(ev.sid);
      if (!session) return;
      if (ev.seq > session.lastSeq + 1) {
        // A gap must never be silent: ask again from what we hold (once per position, not once
        // per event still in flight behind the gap).
        if (this.gapResumes.get(ev.sid) !== session.lastSeq) {
          this.gapResumes.set(ev.sid, session.lastSeq);
          this.send({ type: 'resume', sid: ev.sid, after: session.lastSeq });
        }
        return;
      }
      session.receive(ev);
      if (session.finished) this.pendingStarts.delete(ev.sid);
      return;
    }
    const parsed = ControlFrame.safeParse(json);
    if (!parsed.success) return;
    const f = parsed.data;
    switch (f.type) {
      case 'welcome':
        this.heartbeatMs = f.heartbeatMs;
        this.gateway = f.gateway;
        this.attempt = 0;
        this.setState('open');
        this.emit('welcome', f.gateway);
        for (const w of this.openWaiters.splice(0)) w.resolve();
        this.resubscribeAll();
        return;
      case 'goaway':
        // The gateway is draining: move now, to the next URL.
        this.ws?.close(4100, 'goaway');
        return;
      case 'reply':
        if (!f.ok && f.sid && f.error) {
          const session = this.sessions.get(f.sid);
          if (session && !session.finished && (f.op === 'start' || f.op === 'resume')) {
            // Retryable (the gateway lost NATS, a dependency is briefly down): try again later
            // rather than failing a session the fabric still holds.
            if (f.error.retryable && this.retryLater(f.sid)) return;
            session.reject(new StreamFabricError(f.error));
            this.pendingStarts.delete(f.sid);
          }
          this.emit('error', new StreamFabricError(f.error));
        } else if (f.ok && f.sid && (f.op === 'start' || f.op === 'resume')) {
          this.retries.delete(f.sid);
          if (f.op === 'start') this.pendingStarts.delete(f.sid);
          const s = this.sessions.get(f.sid);
          if (s) s.acknowledged = true;
        }
        return;
      default:
        return;
    }
  }

  /** After (re)connecting: re-send unconfirmed starts (idempotent by sid), resume the rest. */
  private resubscribeAll(): void {
    this.gapResumes.clear();
    for (const sid of this.sessions.keys()) this.resubscribe(sid);
  }

  private resubscribe(sid: string): void {
    const session = this.sessions.get(sid);
    if (!session || session.finished) return;
    if (this.pendingStarts.has(sid) && session.lastSeq === 0) this.sendStart(sid);
    else this.send({ type: 'resume', sid, after: session.lastSeq });
  }

  /** Schedules another start/resume of a session after backoff; false once retries are spent. */
  private retryLater(sid: string): boolean {
    const n = this.retries.get(sid) ?? 0;
    if (n >= MAX_SESSION_RETRIES) return false;
    this.retries.set(sid, n + 1);
    setTimeout(
      () => {
        if (this.state === 'open') this.resubscribe(sid);
      },
      this.backoff(n + 2),
    );
    return true;
  }
}
