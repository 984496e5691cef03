import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ErrorBody } from '../../../shared/protocol/index.js';

/** Longest provider message kept in an error event (provider bodies can be large). */
const MAX_DETAIL = 300;

/**
 * Reads how long the provider asks us to wait: `retry-after-ms` (OpenAI's, in ms), else
 * `retry-after` (seconds or an HTTP date). Undefined when absent or unparseable.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function detail(err: { message?: string }): string {
  const m = (err.message ?? '').replace(/\s+/g, ' ').trim();
  return m.length > MAX_DETAIL ? `${m.slice(0, MAX_DETAIL)}...` : m;
}

/**
 * Maps a failure of the model call (an `openai` SDK error, or a stream that broke while being
 * read) to the fabric's typed error. `retryable` says whether the same turn may succeed later:
 * a bad key, a bad request or an exhausted quota will not.
 */
export function classifyUpstreamError(err: unknown): ErrorBody {
  if (err instanceof APIConnectionTimeoutError) {
    return { code: 'upstream_timeout', message: 'model provider did not answer in time', retryable: true };
  }
  if (err instanceof APIConnectionError) {
    return {
      code: 'upstream_error',
      message: `could not reach the model provider: ${detail((err.cause as Error | undefined) ?? err)}`,
      retryable: true,
    };
  }
  if (err instanceof APIError) return fromStatus(err);
  // Not an SDK error: the response body broke while streaming (socket closed, bad chunk).
  const e = err as { message?: string; cause?: { message?: string } };
  const why = e.cause?.message ? `${detail(e)} (${detail(e.cause)})` : detail(e);
  return {
    code: 'upstream_error',
    message: `model stream broke: ${why || 'unknown error'}`,
    retryable: true,
  };
}

function fromStatus(err: APIError): ErrorBody {
  const status = err.status;
  const wait = retryAfterMs(err.headers);
  const extra = wait !== undefined ? { retryAfterMs: wait } : {};
  // The SDK message starts with the status ("429 Rate limit reached ...").
  const text = `model provider error: ${detail(err)}`;
  // The provider may say explicitly whether to retry (OpenAI's `x-should-retry`).
  const hint = err.headers?.get('x-should-retry');
  const override = hint === 'true' ? true : hint === 'false' ? false : undefined;
  let body: ErrorBody;
  if (status === 401 || status === 403) {
    body = { code: 'upstream_auth', message: text, retryable: false };
  } else if (status === 429) {
    // An exhausted quota is a 429 too, but waiting does not fix it.
    const quota = err.code === 'insufficient_quota';
    body = { code: 'upstream_rate_limited', message: text, retryable: !quota, ...extra };
  } else if (status === 408) {
    body = { code: 'upstream_timeout', message: text, retryable: true, ...extra };
  } else if (status === undefined || status === 409 || status >= 500) {
    // `undefined`: an error object sent inside the stream (the provider failed mid-answer).
    body = { code: 'upstream_error', message: text, retryable: true, ...extra };
  } else {
    body = { code: 'upstream_error', message: text, retryable: false };
  }
  return override === undefined ? body : { ...body, retryable: override };
}

/**
 * Delay before retry number `attempt` (0-based): the provider's `retry-after` when it gave
 * one, else full-jitter exponential backoff capped at `maxMs`.
 */
export function retryDelayMs(
  attempt: number,
  error: ErrorBody,
  opts: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  if (error.retryAfterMs !== undefined) return error.retryAfterMs;
  return Math.floor(random() * Math.min(opts.maxMs, opts.baseMs * 2 ** attempt));
}
