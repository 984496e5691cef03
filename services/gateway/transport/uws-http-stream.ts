import type { HttpResult, HttpStream } from './connection.js';
import { withSecurityHeaders } from './security-headers.js';
import { statusLine } from './status-line.js';

/**
 * The part of uWebSockets.js's HttpResponse this adapter uses, written structurally so that
 * uws-server.ts stays the only file that imports uWebSockets.js.
 */
export interface UwsResponse {
  cork(cb: () => void): unknown;
  writeStatus(status: string): unknown;
  writeHeader(key: string, value: string): unknown;
  write(chunk: string): boolean;
  end(body?: string | Uint8Array): unknown;
  onWritable(handler: (offset: number) => boolean): unknown;
}

/**
 * A uWS HttpResponse behind the neutral {@link HttpStream}. uWS keeps whatever a `write` could
 * not send and reports it with `false`; `onWritable` tells when it went out. Every write is
 * corked because these calls come from NATS callbacks, outside uWS's own handlers.
 */
export class UwsHttpStream implements HttpStream {
  closed = false;
  private readonly drainCbs: (() => void)[] = [];
  private readonly closeCbs: (() => void)[] = [];

  constructor(private readonly res: UwsResponse) {
    res.onWritable(() => {
      for (const cb of this.drainCbs) cb();
      return true;
    });
  }

  writeHead(status: number, headers: Record<string, string>): void {
    if (this.closed) return;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [k, v] of Object.entries(withSecurityHeaders(headers))) this.res.writeHeader(k, v);
    });
  }

  write(chunk: string): boolean {
    if (this.closed) return false;
    let ok = false;
    this.res.cork(() => {
      ok = this.res.write(chunk);
    });
    return ok;
  }

  end(chunk = ''): void {
    if (this.closed) return;
    this.res.cork(() => this.res.end(chunk));
    this.finish();
  }

  respond(result: HttpResult): void {
    if (this.closed) return;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(result.status));
      for (const [k, v] of Object.entries(withSecurityHeaders(result.headers))) this.res.writeHeader(k, v);
      this.res.end(result.body ?? '');
    });
    this.finish();
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  onClose(cb: () => void): void {
    if (this.closed) cb();
    else this.closeCbs.push(cb);
  }

  /** The client went away: uWS forbids touching the response from now on. */
  aborted(): void {
    if (!this.closed) this.finish();
  }

  private finish(): void {
    this.closed = true;
    for (const cb of this.closeCbs.splice(0)) cb();
  }
}
