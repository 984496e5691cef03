import type { HttpStream } from './connection.js';

/** The same stream, with `extra` headers added to whatever status line it sends. */
export function withHeaders(res: HttpStream, extra: Record<string, string>): HttpStream {
  return {
    get closed() {
      return res.closed;
    },
    writeHead: (status, headers) => res.writeHead(status, { ...headers, ...extra }),
    write: (chunk) => res.write(chunk),
    end: (chunk) => res.end(chunk),
    respond: (r) => res.respond({ ...r, headers: { ...r.headers, ...extra } }),
    onDrain: (cb) => res.onDrain(cb),
    onClose: (cb) => res.onClose(cb),
  };
}
