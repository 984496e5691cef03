import {
  App,
  type HttpResponse,
  type TemplatedApp,
  type us_listen_socket,
  us_listen_socket_close,
  us_socket_local_port,
  type WebSocket,
} from 'uWebSockets.js';
import { CloseCode } from '../../../shared/protocol/errors.js';
import type {
  Connection,
  ConnectionHandlers,
  HttpFilterResult,
  HttpRequestInfo,
  HttpResult,
  HttpStream,
  StreamingHttpRoute,
  UpgradeDecision,
} from './connection.js';
import { withSecurityHeaders } from './security-headers.js';
import { statusLine } from './status-line.js';
import { UwsHttpStream } from './uws-http-stream.js';
import { withHeaders } from './with-headers.js';

/** This file is the only place that imports uWebSockets.js. */

export interface UwsServerOptions<Ctx> {
  host: string;
  port: number;
  wsPath: string;
  maxPayloadBytes: number;
  /** Our high-water mark: above it `send` reports backpressure. */
  highWaterBytes: number;
  idleTimeoutSeconds: number;
  upgrade: (req: HttpRequestInfo) => UpgradeDecision<Ctx> | Promise<UpgradeDecision<Ctx>>;
  handlers: ConnectionHandlers<Ctx>;
  /** Origin checks, CORS and authentication applied to every HTTP route. */
  httpFilter?: (req: HttpRequestInfo) => HttpFilterResult | Promise<HttpFilterResult>;
  /** A route threw: the client gets a plain `internal` error, this gets the details (for the log). */
  onRouteError?: (err: unknown, req: HttpRequestInfo) => void;
}

export type HttpRoute = (req: HttpRequestInfo) => HttpResult | Promise<HttpResult>;

interface UserData<Ctx> {
  conn?: UwsConnection<Ctx>;
  ctx: Ctx;
  remoteAddress: string;
}

export { statusLine } from './status-line.js';

let nextId = 1;

/** A uWebSockets.js socket behind the neutral {@link Connection} interface. */
class UwsConnection<Ctx> implements Connection<Ctx> {
  readonly id = nextId++;
  closed = false;
  constructor(
    private readonly ws: WebSocket<UserData<Ctx>>,
    readonly ctx: Ctx,
    readonly remoteAddress: string,
    private readonly highWater: number,
  ) {}

  send(data: string | Uint8Array): boolean {
    if (this.closed) return false;
    const r = this.ws.send(data, false);
    const buffered = this.ws.getBufferedAmount();
    // A client that stops reading while we keep sending (sessions pause at the high-water mark,
    // overshooting by at most one event each, so mostly replies to a hostile client get here) is
    // closed at 3x the mark, below uWS's own cap (4x) so the 4102 close frame still fits: it
    // reconnects and resumes from the log instead of living with a silently dropped frame.
    if (r === 2 || buffered > this.highWater * 3) {
      this.close(CloseCode.slowConsumer, 'slow consumer: send buffer limit exceeded');
      return false;
    }
    return buffered < this.highWater;
  }
  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }
  cork(fn: () => void): void {
    if (this.closed) return;
    this.ws.cork(fn);
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason.slice(0, 120));
  }
}

/** Reads the whole request body (bounded), then calls back; uWS requires this dance. */
function readBody(res: HttpResponse, limit: number, cb: (body: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.onData((ab, isLast) => {
    size += ab.byteLength;
    if (size > limit) {
      cb(null);
      return;
    }
    chunks.push(Buffer.from(ab.slice(0)));
    if (isLast) cb(Buffer.concat(chunks));
  });
}

export class UwsServer<Ctx> {
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  readonly connections = new Set<Connection<Ctx>>();
  boundPort = 0;

  constructor(private readonly opts: UwsServerOptions<Ctx>) {
    this.app = App();
    this.app.ws<UserData<Ctx>>(opts.wsPath, {
      compression: 0,
      // uWS drops the TCP connection (1006) above its limit; we allow 4x more and close frames over
      // our own limit with a proper 1009, so clients learn why.
      maxPayloadLength: Math.max(opts.maxPayloadBytes * 4, 1024 * 1024),
      idleTimeout: opts.idleTimeoutSeconds,
      sendPingsAutomatically: true,
      // uWS drops frames above this; ours (highWaterBytes) pauses sessions well before.
      maxBackpressure: opts.highWaterBytes * 4,
      closeOnBackpressureLimit: false,
      upgrade: (res, req, context) => {
        const info = requestInfo(req, Buffer.alloc(0));
        const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
        const secKey = req.getHeader('sec-websocket-key');
        const secExt = req.getHeader('sec-websocket-extensions');
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        Promise.resolve(opts.upgrade(info))
          .then((d) => {
            if (aborted) return;
            if (!d.ok) {
              res.cork(() => {
                res.writeStatus(statusLine(d.status));
                const headers = withSecurityHeaders({ 'content-type': 'application/json', ...d.headers });
                for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
                res.end(d.body);
              });
              return;
            }
            // Not inside res.cork(): upgrading a socket from a corked callback after an await can
            // close the new WebSocket right after `open` (uWebSockets #1928 / uWS.js #1108; found
            // by the fuzzer as random 1006 closes of healthy clients). Upstream's advice until the
            // fix ships: upgrade uncorked.
            res.upgrade<UserData<Ctx>>(
              { ctx: d.ctx, remoteAddress },
              secKey,
              d.protocol ?? '',
              secExt,
              context,
            );
          })
          .catch(() => {
            if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
          });
      },
      open: (ws) => {
        const ud = ws.getUserData();
        const conn = new UwsConnection(ws, ud.ctx, ud.remoteAddress, opts.highWaterBytes);
        ud.conn = conn;
        this.connections.add(conn);
        opts.handlers.onOpen(conn);
      },
      message: (ws, message, isBinary) => {
        const conn = ws.getUserData().conn;
        if (!conn) return;
        if (message.byteLength > opts.maxPayloadBytes) {
          conn.close(1009, `frame exceeds ${opts.maxPayloadBytes} bytes`);
          return;
        }
        opts.handlers.onMessage(conn, message, isBinary);
      },
      drain: (ws) => {
        const conn = ws.getUserData().conn;
        if (conn) opts.handlers.onDrain(conn);
      },
      close: (ws, code) => {
        const conn = ws.getUserData().conn;
        if (!conn) return;
        conn.closed = true;
        this.connections.delete(conn);
        opts.handlers.onClose(conn, code);
      },
    });
  }

  /**
   * Hands the uWS app to a library that registers its own routes on it (Socket.IO's
   * `attachApp`), so uWebSockets.js is still imported here only. The app is opaque to callers.
   */
  attach(register: (app: unknown) => void): void {
    register(this.app);
  }

  /** Registers an HTTP route; `pattern` follows uWS (`/path`, `/files/*`). */
  route(
    method: 'get' | 'post' | 'del' | 'options' | 'any',
    pattern: string,
    handler: HttpRoute,
    bodyLimit = 1024 * 1024,
  ): void {
    this.app[method](pattern, (res, req) => {
      const info = requestInfo(req, Buffer.alloc(0));
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const respond = (result: HttpResult) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(statusLine(result.status));
          for (const [k, v] of Object.entries(withSecurityHeaders(result.headers))) res.writeHeader(k, v);
          res.end(result.body ?? '');
        });
      };
      const run = () =>
        Promise.resolve()
          .then(() => this.filtered(info, handler))
          .then(respond)
          .catch((err: unknown) => respond(this.internalError(err, info)));
      if (info.method === 'post' || info.method === 'put' || info.method === 'patch') {
        readBody(res, bodyLimit, (body) => {
          if (body === null) {
            respond(tooLarge(bodyLimit));
            return;
          }
          info.body = body;
          void run();
        });
      } else {
        void run();
      }
    });
  }

  /** A route failed: the details go to the log, the client gets no message text of ours. */
  private internalError(err: unknown, info: HttpRequestInfo): HttpResult {
    this.opts.onRouteError?.(err, info);
    return {
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: '{"error":{"code":"internal","message":"internal error","retryable":true}}',
    };
  }

  /** Runs the HTTP filter, then the route, adding the filter's headers to the route's answer. */
  private async filtered(info: HttpRequestInfo, handler: HttpRoute): Promise<HttpResult> {
    if (!this.opts.httpFilter) return handler(info);
    const f = await this.opts.httpFilter(info);
    if ('respond' in f) return f.respond;
    info.ctx = f.ctx;
    const result = await handler(info);
    return f.headers ? { ...result, headers: { ...f.headers, ...result.headers } } : result;
  }

  /**
   * Registers a streaming HTTP route (SSE): the handler gets a neutral {@link HttpStream} and
   * writes to it over time. POST bodies are read (bounded) first.
   */
  stream(
    method: 'get' | 'post' | 'any',
    pattern: string,
    handler: StreamingHttpRoute,
    bodyLimit = 1024 * 1024,
  ): void {
    this.app[method](pattern, (res, req) => {
      const info = requestInfo(req, Buffer.alloc(0));
      const stream = new UwsHttpStream(res);
      res.onAborted(() => stream.aborted());
      const run = () =>
        Promise.resolve()
          .then(() => this.filteredStream(info, stream, handler))
          .catch((err: unknown) => {
            if (!stream.closed) stream.respond(this.internalError(err, info));
          });
      // Bodies are read for POST and PUT (an `any` route sees every method).
      if (info.method !== 'post' && info.method !== 'put') return void run();
      readBody(res, bodyLimit, (body) => {
        if (body === null) {
          stream.respond(tooLarge(bodyLimit));
          return;
        }
        info.body = body;
        void run();
      });
    });
  }

  /** Streaming routes pass the same HTTP filter as `route()` (origin, CORS, authentication). */
  private async filteredStream(info: HttpRequestInfo, res: HttpStream, handler: StreamingHttpRoute) {
    if (!this.opts.httpFilter) return handler(info, res);
    const f = await this.opts.httpFilter(info);
    if ('respond' in f) return res.respond(f.respond);
    info.ctx = f.ctx;
    return handler(info, f.headers ? withHeaders(res, f.headers) : res);
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.opts.host, this.opts.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.opts.host}:${this.opts.port} (in use or not allowed)`));
          return;
        }
        this.listenSocket = socket;
        this.boundPort = us_socket_local_port(socket as never);
        resolve(this.boundPort);
      });
    });
  }

  /** Stops accepting new connections (existing ones stay open). */
  stopListening(): void {
    if (this.listenSocket) us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Closes the app and every socket at once. */
  close(): void {
    this.stopListening();
    this.app.close();
  }
}

function tooLarge(bodyLimit: number): HttpResult {
  return {
    status: 413,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      error: { code: 'frame_too_large', message: `body exceeds ${bodyLimit} bytes`, retryable: false },
    }),
  };
}

function requestInfo(
  req: {
    getMethod(): string;
    getUrl(): string;
    getQuery(): string | undefined;
    forEach(cb: (k: string, v: string) => void): void;
  },
  body: Buffer,
): HttpRequestInfo {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = v;
  });
  return {
    method: req.getMethod().toLowerCase(),
    path: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    headers,
    body,
  };
}
