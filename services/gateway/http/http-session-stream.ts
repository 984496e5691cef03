import { type ErrorBody, type ErrorCode, errorBody } from '../../../shared/protocol/index.js';
import type { AgentDirectory } from '../agents/agent-directory.js';
import type { EventSink } from '../fanout/event-sink.js';
import type { FanoutHub } from '../fanout/fanout-hub.js';
import type { Principal, SessionService } from '../session/session-service.js';
import type { HttpRequestInfo, HttpResult, HttpStream } from '../transport/connection.js';

/** What the HTTP streaming routes need from the gateway. */
export interface HttpStreamingDeps {
  hub: FanoutHub;
  sessions: SessionService;
  streams: HttpStreamSet;
  /** Who is asking: the principal the server's HTTP filter (auth/access-policy.ts) attached. */
  principal(req: HttpRequestInfo): Principal;
  /** Known agents (OpenAI-compatible routes answer an unknown `model` with 404 model_not_found). */
  agents?: AgentDirectory;
}

/** What one stored event becomes for an HTTP client. */
export interface Rendered {
  /** Bytes to write now (SSE lines); nothing for events this format does not show. */
  chunk?: string;
  /** End the response after this event. */
  end?: boolean;
  /** Instead of a stream: answer with this complete response (non-streaming mode). */
  respond?: HttpResult;
}

export type EventRenderer = (seq: number, json: string) => Rendered;

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  bad_frame: 400,
  invalid_argument: 400,
  unknown_type: 400,
  frame_too_large: 413,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  already_exists: 409,
  expired: 410,
  busy: 409,
  limit_exceeded: 400,
  rate_limited: 429,
  too_many_sessions: 429,
  upstream_error: 502,
  upstream_auth: 502,
  upstream_rate_limited: 429,
  upstream_timeout: 504,
  unavailable: 503,
  overloaded: 503,
  timeout: 504,
  unknown_agent: 404,
  queue_timeout: 503,
};

/** The HTTP status for a typed error. */
export function httpStatusOf(code: ErrorCode): number {
  return STATUS_OF[code] ?? 500;
}

/** A typed error as a JSON HTTP answer: `{"error": {code, message, retryable, ...extra}}`. */
export function errorResult(error: ErrorBody, extra: Record<string, unknown> = {}): HttpResult {
  return {
    status: httpStatusOf(error.code),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { ...error, ...extra } }),
  };
}

/** Headers of an SSE response. `x-accel-buffering` stops nginx from buffering the stream. */
export function sseHeaders(sid: string): Record<string, string> {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-streamfabric-session': sid,
    'access-control-expose-headers': 'x-streamfabric-session',
  };
}

const decoder = new TextDecoder();

/**
 * Follows a session over an HTTP response through the same FanoutHub/SessionSubscription path
 * as WebSockets: catch-up from the log after `after`, then live, exactly once and in order.
 * Backpressure pauses the subscription until the response drains (the log is the buffer).
 * Returns a function that ends the stream early with a typed error (e.g. the token expired).
 */
export function followOverHttp(
  deps: HttpStreamingDeps,
  tenant: string,
  sid: string,
  after: number,
  res: HttpStream,
  render: EventRenderer,
  fail: (error: ErrorBody) => Rendered,
): (error: ErrorBody) => void {
  const apply = (r: Rendered): boolean => {
    let ok = true;
    if (r.respond) res.respond(r.respond);
    else if (r.chunk) ok = res.write(r.chunk);
    if (r.end) res.end();
    return ok;
  };
  const sink: EventSink = {
    get closed() {
      return res.closed;
    },
    // An HTTP stream reports a full buffer through write()'s result, which pauses the session.
    get writable() {
      return !res.closed;
    },
    send: (data, seq) => apply(render(seq, decoder.decode(data))),
    fail: (_sid, code, message) => {
      apply({ ...fail(errorBody(code, message)), end: true });
    },
  };
  const sub = deps.hub.subscribe(tenant, sid, after, sink);
  res.onDrain(() => sub.resume());
  res.onClose(() => deps.hub.unsubscribe(tenant, sub));
  return (error) => {
    if (!res.closed) apply({ ...fail(error), end: true });
  };
}

/** When a stream's credential stops being valid, and how to end the stream then. */
export interface StreamExpiry {
  /** Epoch ms (the JWT's `exp`). */
  at: number;
  /** Ends the response with a typed `unauthenticated` error the format can carry. */
  end: () => void;
}

/** The typed error an HTTP stream ends with when its token expires (the client re-authenticates and resumes). */
const TOKEN_EXPIRED = errorBody('unauthenticated', 'token expired; reconnect with a fresh token');

/** The expiry of a stream opened with `p`'s credential (none for credentials without `exp`). */
export function expiryOf(p: Principal, endWith: (error: ErrorBody) => void): StreamExpiry | undefined {
  return p.expiresAt === undefined ? undefined : { at: p.expiresAt, end: () => endWith(TOKEN_EXPIRED) };
}

/**
 * Every open HTTP stream of this gateway: one heartbeat timer for all of them (an SSE comment,
 * which keeps proxies from timing the stream out), and a way to end them all when draining.
 * The same tick ends streams whose token expired, as the WebSocket heartbeat closes sockets
 * with 4103: a credential is checked for as long as a stream lives, not only when it opens.
 */
export class HttpStreamSet {
  private readonly sse = new Set<HttpStream>();
  private readonly pending = new Set<HttpStream>();
  private readonly expiries = new Map<HttpStream, StreamExpiry>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(heartbeatMs: number) {
    this.timer = setInterval(() => this.tick(), heartbeatMs);
    this.timer.unref?.();
  }

  get size(): number {
    return this.sse.size + this.pending.size;
  }

  /**
   * Tracks a response: `sse` ones get heartbeats; others (a JSON answer still pending) only drain
   * handling. With `expiry`, the response is ended at the first tick after the token expires.
   */
  add(res: HttpStream, kind: 'sse' | 'pending', expiry?: StreamExpiry): void {
    const set = kind === 'sse' ? this.sse : this.pending;
    set.add(res);
    if (expiry) this.expiries.set(res, expiry);
    res.onClose(() => {
      set.delete(res);
      this.expiries.delete(res);
    });
  }

  /** Draining: SSE clients reconnect (with Last-Event-ID) elsewhere; pending answers get a retryable 503. */
  closeAll(): void {
    clearInterval(this.timer);
    for (const res of [...this.sse]) res.end();
    const busy = errorResult(errorBody('unavailable', 'gateway is draining; retry'));
    for (const res of [...this.pending]) res.respond(busy);
  }

  private tick(): void {
    const now = Date.now();
    for (const [res, expiry] of this.expiries) {
      if (expiry.at > now || res.closed) continue;
      this.expiries.delete(res);
      expiry.end();
    }
    const beat = `: heartbeat ${now}\n\n`;
    for (const res of this.sse) res.write(beat);
  }
}
