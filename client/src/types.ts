import type { SessionOptions } from '../../shared/protocol/options.js';
import type { BackoffPolicy } from './backoff.js';
import type { StreamFabricError } from './errors.js';
import type { NetworkSignals } from './network-signals.js';
import type { StorageLike } from './session-store.js';

/**
 * The connection's state. `idle` before the first connect; `connecting` until the first
 * `welcome`; `open`; `reconnecting` after a failure, until the next `welcome`; `closed` after
 * `close()` or a terminal close code (no automatic reconnect).
 */
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
/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `ws`'s `WebSocket` in Node. */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link StreamFabricClient}. Only `url` is required. */
export interface ClientOptions {
  /** Gateway WebSocket URL(s) (`ws://host:port/v1/ws`); each reconnect tries the next one. */
  url: string | string[];
  /** WebSocket constructor: the browser's by default; pass `ws`'s `WebSocket` in Node. */
  WebSocket?: WebSocketCtor;
  /** Reconnect backoff, full jitter. Default `{ baseMs: 250, maxMs: 10_000 }`. */
  backoff?: Partial<BackoffPolicy>;
  /** Extra WebSocket subprotocols. */
  protocols?: string[];
  /**
   * Bearer token (JWT) for gateways running with AUTH_MODE=jwt, sent as the `bearer.<token>`
   * subprotocol (browsers cannot set headers on a WebSocket; the URL would leak it to logs).
   * A function is called before every (re)connect, so it can return a fresh token.
   */
  token?: string | (() => string | Promise<string>);
  /** Give up on a connection attempt without a `welcome` after this long (ms). Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * Keep retrying a start or resume the gateway refused with a retryable error (`unavailable`,
   * `busy`, ...) for this long (ms, backoff between tries) before the session fails. Default 60 000.
   */
  retryTimeoutMs?: number;
  /**
   * Keep (session id, start request) in storage so a page reload can `restore()` its sessions.
   * `true` uses `sessionStorage` (per tab). Default off.
   */
  persist?: boolean | { storage: StorageLike; key?: string; max?: number };
  /**
   * Online/offline and page-visibility hints. Browsers get them automatically; pass `false` to
   * turn them off or your own to test.
   */
  networkSignals?: NetworkSignals | false;
}

/** What to start: the prompt, the agent and its options. */
export interface StartOptions {
  input: string;
  /** The agent (worker pool) to run. Default `builtin`. */
  agent?: string;
  options?: SessionOptions;
  /** Choose the session id yourself (8-64 of `A-Za-z0-9_-`), e.g. to make a retried start idempotent. */
  sid?: string;
}

/** Connection-level events and their listener signatures. */
export interface ClientEvents {
  /** Every state change, with the previous state and why (single writer: in the order taken). */
  state: (state: ConnectionState, previous: ConnectionState, reason: string) => void;
  /** The gateway greeted this connection; `gateway` is its id. */
  welcome: (gateway: string) => void;
  /** A typed error not tied to one session's stream (terminal close, refused request). */
  error: (err: StreamFabricError) => void;
}
