import { ErrorBody } from '../../shared/protocol/index.js';
import type { HttpInput } from './arbitraries.js';

export interface HttpFuzzContext {
  baseUrl: string;
  allowedOrigin: string;
  validToken: string;
}

export type HttpOutcome = { kind: 'response'; status: number } | { kind: 'dropped'; error: string };

const API_PREFIXES = ['/v1/', '/api/'];
const PUBLIC_API = new Set(['/api/v1/stream/health']);

/**
 * Sends one fuzzed HTTP request and judges the answer: never a 5xx (503 only with a typed
 * error), typed JSON errors, 403 for a refused origin, 401 for an API call without a valid
 * token, CORS headers for allowed origins, and no file outside the static roots.
 */
export async function runHttpInput(
  ctx: HttpFuzzContext,
  input: HttpInput,
): Promise<{ outcome: HttpOutcome; problem: string | null }> {
  const withBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(input.method) && input.body !== undefined;
  let res: Response;
  try {
    res = await fetch(`${ctx.baseUrl}${input.path}`, {
      method: input.method,
      headers: input.headers,
      ...(withBody ? { body: input.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = `${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`;
    // The client refused to send it (bad header value, ...): nothing reached the gateway.
    if (err instanceof TypeError && !cause) return { outcome: { kind: 'dropped', error }, problem: null };
    return {
      outcome: { kind: 'dropped', error },
      problem: oversized(input) ? null : `request failed: ${error}`,
    };
  }
  const body = input.method === 'HEAD' ? '' : await res.text();
  return { outcome: { kind: 'response', status: res.status }, problem: judge(ctx, input, res, body) };
}

function judge(ctx: HttpFuzzContext, input: HttpInput, res: Response, body: string): string | null {
  const where = `${input.method} ${input.path.slice(0, 80)}`;
  // uWS refuses oversized headers itself, before any route or filter runs.
  if (res.status === 431) return oversized(input) ? null : `${where}: 431 for small headers`;
  if (res.status >= 500 && res.status !== 503) return `${where}: HTTP ${res.status} ${body.slice(0, 120)}`;
  const type = res.headers.get('content-type') ?? '';
  if (res.status >= 400 && type.includes('application/json') && input.method !== 'HEAD') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return `${where}: error body is not JSON`;
    }
    if (!ErrorBody.safeParse((parsed as { error?: unknown }).error).success)
      return `${where}: untyped error body ${body.slice(0, 120)}`;
  }
  if (/\.\.|%2e|%2f/i.test(input.path) && body.includes('"name": "streamfabric"'))
    return `${where}: path traversal served package.json`;
  const origin = input.headers.origin;
  const refusedOrigin = origin !== undefined && origin !== ctx.allowedOrigin;
  if (refusedOrigin)
    return res.status === 403 ? null : `${where}: origin ${origin} got ${res.status}, not 403`;
  if (
    origin === ctx.allowedOrigin &&
    res.status < 400 &&
    res.headers.get('access-control-allow-origin') !== origin
  )
    return `${where}: allowed origin without Access-Control-Allow-Origin`;
  const preflight =
    input.method === 'OPTIONS' && input.headers['access-control-request-method'] !== undefined;
  // The path the server saw: fetch drops the fragment and resolves dot segments.
  const path = new URL(`${ctx.baseUrl}${input.path}`).pathname;
  const isApi = API_PREFIXES.some((p) => path.startsWith(p)) && !PUBLIC_API.has(path);
  const validAuth = input.headers.authorization === `Bearer ${ctx.validToken}`;
  if (isApi && !preflight && !validAuth && res.status !== 401)
    return `${where}: API call without a valid token got ${res.status}, not 401`;
  return null;
}

/** Requests over uWS's header limits may be dropped at the transport. */
function oversized(input: HttpInput): boolean {
  const headerBytes = Object.entries(input.headers).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return headerBytes + input.path.length > 4000;
}
