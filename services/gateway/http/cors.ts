import type { HttpRequestInfo, HttpResult, HttpStream } from '../transport/connection.js';

/**
 * CORS for the HTTP streaming routes, from `CORS_ORIGINS` ("*" = any origin), so a page on
 * another origin can use EventSource or an OpenAI SDK against a gateway.
 */
export function corsHeaders(req: HttpRequestInfo, allowed: readonly string[]): Record<string, string> {
  if (allowed.includes('*')) return { 'access-control-allow-origin': '*' };
  const origin = req.headers.origin;
  return origin && allowed.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
}

/** The answer to a CORS preflight: the methods we serve and whatever headers the client asked for. */
export function preflight(allowed: readonly string[]) {
  return (req: HttpRequestInfo): HttpResult => ({
    status: 204,
    headers: {
      ...corsHeaders(req, allowed),
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'content-type',
      'access-control-max-age': '600',
    },
  });
}

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
