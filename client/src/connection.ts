import type { ClientFrame } from '../../shared/protocol/client-frames.js';
import { CloseCode, shouldReconnect, WS_SUBPROTOCOL } from '../../shared/protocol/wire-constants.js';
import { type BackoffPolicy, backoffDelay } from './backoff.js';
import { errorFromClose, type StreamFabricError } from './errors.js';
import { browserNetworkSignals, type NetworkSignal } from './network-signals.js';
import type { ClientOptions, ConnectionState, WebSocketCtor, WebSocketLike } from './types.js';
import { type ParsedFrame, parseServerFrame } from './wire.js';

/** What the connection reports to the client that owns it. */
export interface ConnectionHost {
  /** Every state change, in order. */
  state(next: ConnectionState, previous: ConnectionState, reason: string): void;
  /** A `welcome` arrived: the connection is open; (re)subscribe every session. */
  opened(gateway: string): void;
  /** A session event or a reply (heartbeats, welcome and goaway are handled here). */
  frame(f: ParsedFrame): void;
  /** The connection ended for good (no reconnect). `notify` is false when the user asked for it. */
  closed(err: StreamFabricError, notify: boolean): void;
}

/** How the failure funnel ends a connection. */
interface Disconnect {
  code: number;
  reason: string;
  reconnect: boolean;
  /** Reconnect delay; default: full-jitter backoff. */
  delayMs?: number;
  /** For a terminal disconnect asked for by the user: the error pending work rejects with. */
  error?: StreamFabricError;
}

/**
 * The connection state machine (centrifuge-js style): `setState` is the only writer of the
 * state and `disconnect` the only way a connection ends, whatever the cause (close, heartbeat
 * silence, goaway, offline, connect timeout). After a failure it reconnects with full-jitter
 * backoff, rotating through the URLs; an `online` or `visible` signal skips the wait.
 */
export class ConnectionMachine {
  gateway = '';
  private current: ConnectionState = 'idle';
  private ws: WebSocketLike | null = null;
  private readonly urls: string[];
  private readonly Ctor: WebSocketCtor;
  private readonly policy: BackoffPolicy;
  private urlIndex = 0;
  private attempt = 0;
  private heartbeatMs = 15_000;
  private lastFrameAt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private stopSignals: (() => void) | undefined;
  /** Counts token requests, so a late answer for a superseded attempt is ignored. */
  private tokenRequest = 0;

  constructor(
    private readonly opts: ClientOptions,
    private readonly host: ConnectionHost,
  ) {
    this.urls = Array.isArray(opts.url) ? opts.url : [opts.url];
    const ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!ctor) throw new Error('no WebSocket implementation: pass { WebSocket } (in Node: from "ws")');
    this.Ctor = ctor;
    this.policy = { baseMs: opts.backoff?.baseMs ?? 250, maxMs: opts.backoff?.maxMs ?? 10_000 };
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The reconnect backoff policy (also used for per-session retries). */
  get backoff(): BackoffPolicy {
    return this.policy;
  }

  connect(): Promise<void> {
    if (this.current === 'open') return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.current === 'idle' || this.current === 'closed') {
      this.attempt = 0;
      const { networkSignals } = this.opts;
      const signals = networkSignals === false ? undefined : (networkSignals ?? browserNetworkSignals());
      this.stopSignals = signals?.subscribe((s) => this.onSignal(s));
      this.setState('connecting', 'connect');
      this.openSocket();
    }
    return p;
  }

  /** Sends a frame when open; otherwise drops it (the welcome re-subscribes everything). */
  send(frame: ClientFrame): void {
    if (this.ws && this.current === 'open' && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  drop(reason: string): void {
    if (this.ws) this.disconnect({ code: CloseCode.reconnect, reason, reconnect: true });
  }

  close(error: StreamFabricError): void {
    this.disconnect({ code: CloseCode.normal, reason: error.message, reconnect: false, error });
  }

  /** The single writer of `state`. */
  private setState(next: ConnectionState, reason: string): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    this.host.state(next, prev, reason);
  }

  /** The failure funnel: every way a connection ends comes through here. */
  private disconnect(d: Disconnect): void {
    const ws = this.ws;
    this.ws = null;
    this.tokenRequest++; // a token still being fetched belongs to the attempt that just ended
    clearTimeout(this.connectTimer);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearInterval(this.watchdog);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        // Browsers only let scripts close with 1000 or 3000-4999.
        const code = d.code === CloseCode.normal || (d.code >= 4000 && d.code < 5000) ? d.code : 4100;
        ws.close(code, d.reason.slice(0, 100));
      } catch {
        // already closed
      }
    }
    if (this.current === 'closed') return;
    if (!d.reconnect) {
      this.stopSignals?.();
      this.setState('closed', d.reason);
      const err = d.error ?? errorFromClose(d.code, d.reason);
      for (const w of this.waiters.splice(0)) w.reject(err);
      this.host.closed(err, !d.error);
      return;
    }
    this.setState(this.current === 'connecting' ? 'connecting' : 'reconnecting', d.reason);
    this.urlIndex++;
    const delay = d.delayMs ?? backoffDelay(this.attempt++, this.policy);
    this.reconnectTimer = setTimeout(() => this.openSocket(), delay);
  }

  private openSocket(): void {
    this.reconnectTimer = undefined;
    const token = this.opts.token;
    if (typeof token !== 'function') {
      this.createSocket(token);
      return;
    }
    // A fresh token for every attempt; the user may close (or a signal reopen) meanwhile.
    const attempt = ++this.tokenRequest;
    Promise.resolve()
      .then(token)
      .then(
        (t) => {
          if (attempt === this.tokenRequest && this.current !== 'closed') this.createSocket(t);
        },
        (err: unknown) => {
          if (attempt !== this.tokenRequest || this.current === 'closed') return;
          const reason = `token provider failed: ${err instanceof Error ? err.message : String(err)}`;
          this.disconnect({ code: CloseCode.reconnect, reason, reconnect: true });
        },
      );
  }

  private createSocket(token: string | undefined): void {
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const bearer = token ? [`bearer.${token}`] : [];
    let ws: WebSocketLike;
    try {
      ws = new this.Ctor(url, [WS_SUBPROTOCOL, ...bearer, ...(this.opts.protocols ?? [])]);
    } catch (err) {
      this.disconnect({
        code: CloseCode.reconnect,
        reason: `cannot connect: ${String(err)}`,
        reconnect: true,
      });
      return;
    }
    this.ws = ws;
    this.connectTimer = setTimeout(
      () => this.disconnect({ code: CloseCode.reconnect, reason: 'connect timeout', reconnect: true }),
      this.opts.connectTimeoutMs ?? 10_000,
    );
    ws.onmessage = (ev) => {
      this.lastFrameAt = Date.now();
      const f = parseServerFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
      if (f) this.onFrame(f); // a malformed frame is dropped, never crashed on
    };
    ws.onerror = () => undefined; // onclose follows and decides
    ws.onclose = (ev) =>
      this.disconnect({
        code: ev.code,
        reason: ev.reason || `closed (${ev.code})`,
        reconnect: shouldReconnect(ev.code),
      });
  }

  private onFrame(f: ParsedFrame): void {
    if (f.kind === 'control' && f.frame.type === 'welcome') {
      clearTimeout(this.connectTimer);
      this.heartbeatMs = f.frame.heartbeatMs;
      this.gateway = f.frame.gateway;
      this.attempt = 0;
      this.watchdog = setInterval(() => this.checkHeartbeat(), Math.min(1_000, this.heartbeatMs / 2));
      this.setState('open', 'welcome');
      for (const w of this.waiters.splice(0)) w.resolve();
      this.host.opened(f.frame.gateway);
    } else if (f.kind === 'control' && f.frame.type === 'goaway') {
      // The gateway is draining: move (within the delay it asked for) to the next URL.
      const delayMs = Math.floor(Math.random() * f.frame.reconnectAfterMs);
      const reason = `goaway: ${f.frame.reason}`;
      this.disconnect({ code: CloseCode.reconnect, reason, reconnect: true, delayMs });
    } else if (f.kind === 'event' || f.frame.type === 'reply') {
      this.host.frame(f);
    }
  }

  private onSignal(signal: NetworkSignal): void {
    if (signal === 'offline') {
      this.drop('offline');
    } else if (this.current === 'open') {
      this.checkHeartbeat(); // a hidden tab's timers were throttled: check liveness now
    } else if (this.reconnectTimer !== undefined) {
      // The network is back or the user is looking: do not wait out the backoff.
      clearTimeout(this.reconnectTimer);
      this.attempt = 0;
      this.openSocket();
    }
  }

  private checkHeartbeat(): void {
    // Silence past 2.5 heartbeats: the link is dead even if TCP has not noticed.
    if (Date.now() - this.lastFrameAt > this.heartbeatMs * 2.5)
      this.disconnect({ code: CloseCode.heartbeatTimeout, reason: 'heartbeat timeout', reconnect: true });
  }
}
