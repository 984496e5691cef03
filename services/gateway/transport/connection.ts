/**
 * A client connection as the gateway's logic sees it: a neutral wrapper around the native
 * socket, so session and fan-out code never import uWebSockets.js.
 */
export interface Connection<Ctx = unknown> {
  readonly id: number;
  /** Per-connection context set at upgrade time (the authenticated principal, origin, ...). */
  readonly ctx: Ctx;
  readonly remoteAddress: string;
  readonly closed: boolean;
  /**
   * Sends one text frame. Returns false when the frame was buffered above the high-water
   * mark (the caller should stop sending until `onDrain`) or the socket is closed.
   */
  send(data: string | Uint8Array): boolean;
  /** Bytes waiting in the socket's send buffer. */
  bufferedAmount(): number;
  /** Batches several sends into one syscall. */
  cork(fn: () => void): void;
  close(code: number, reason: string): void;
}

/** What the server reports to the gateway logic. */
export interface ConnectionHandlers<Ctx> {
  onOpen(conn: Connection<Ctx>): void;
  onMessage(conn: Connection<Ctx>, data: ArrayBuffer, isBinary: boolean): void;
  onDrain(conn: Connection<Ctx>): void;
  onClose(conn: Connection<Ctx>, code: number): void;
}

/** An HTTP request as handlers see it (headers lower-cased). */
export interface HttpRequestInfo {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  /** Set by the server's HTTP filter before a route runs (the authenticated principal). */
  ctx?: unknown;
}

export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** The upgrade decision: accept with a context, or refuse with an HTTP status. */
export type UpgradeDecision<Ctx> =
  | { ok: true; ctx: Ctx; protocol?: string }
  | { ok: false; status: number; body: string; headers?: Record<string, string> };

/**
 * Runs before every HTTP route: answers on its own (a refused origin, a missing token, a CORS
 * preflight) or lets the route run with a context and extra response headers.
 */
export type HttpFilterResult = { respond: HttpResult } | { ctx?: unknown; headers?: Record<string, string> };
