import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';

/**
 * Request headers a browser may send cross-origin: bearer auth, JSON bodies, SSE resume, and the
 * OpenAI-compatible route's session choice and resume position.
 */
const ALLOW_HEADERS =
  'authorization, content-type, last-event-id, x-streamfabric-session, x-streamfabric-resume, ' +
  // Durable Streams (http/durable-streams/): conditional reads, stream options, idempotent producers, forks.
  'if-none-match, stream-seq, stream-ttl, stream-expires-at, stream-closed, producer-id, producer-epoch, ' +
  'producer-seq, stream-forked-from, stream-fork-offset, stream-fork-sub-offset';
const ALLOW_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';
/** Browsers cache a preflight this long (seconds), sparing a round trip per request. */
const PREFLIGHT_MAX_AGE = '600';

/**
 * Response headers for an allowed cross-origin request. The origin is echoed (never `*`) with
 * `Vary: Origin` so caches keep per-origin answers apart; no `Allow-Credentials`, because the
 * fabric authenticates with bearer tokens, never cookies.
 */
export function corsHeaders(origin: string | undefined): Record<string, string> {
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    vary: 'Origin',
    // The chat completions route names its session in a header; a page needs it to resume.
    // Durable Streams readers need the offset, cursor, closure, producer and caching headers.
    'access-control-expose-headers':
      'retry-after, x-streamfabric-session, stream-next-offset, stream-cursor, stream-up-to-date, ' +
      'stream-closed, producer-epoch, producer-seq, producer-expected-seq, producer-received-seq, ' +
      'stream-sse-data-encoding, etag, content-type, content-encoding, vary, location',
  };
}

/** Whether a request is a CORS preflight (OPTIONS with Access-Control-Request-Method). */
export function isPreflight(req: HttpRequestInfo): boolean {
  return req.method === 'options' && req.headers['access-control-request-method'] !== undefined;
}

/** The answer to an allowed preflight: 204 with what may follow. */
export function preflightResponse(origin: string | undefined): HttpResult {
  return {
    status: 204,
    headers: {
      ...corsHeaders(origin),
      'access-control-allow-methods': ALLOW_METHODS,
      'access-control-allow-headers': ALLOW_HEADERS,
      'access-control-max-age': PREFLIGHT_MAX_AGE,
    },
  };
}
