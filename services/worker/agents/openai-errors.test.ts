import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, retryAfterMs, retryDelayMs } from './openai-errors.js';

const statusError = (status: number, headers: Record<string, string> = {}, code?: string) =>
  APIError.generate(status, { error: { message: `boom ${status}`, code } }, undefined, new Headers(headers));

describe('openai errors - retry-after', () => {
  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250.4' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});

describe('openai errors - classification', () => {
  it.each([
    [401, 'upstream_auth', false],
    [403, 'upstream_auth', false],
    [400, 'upstream_error', false],
    [404, 'upstream_error', false],
    [408, 'upstream_timeout', true],
    [409, 'upstream_error', true],
    [429, 'upstream_rate_limited', true],
    [500, 'upstream_error', true],
    [503, 'upstream_error', true],
  ] as const)('HTTP %i is %s, retryable %s', (status, code, retryable) => {
    expect(classifyUpstreamError(statusError(status))).toMatchObject({ code, retryable });
  });

  it('keeps the provider retry-after on 429 and 503', () => {
    expect(classifyUpstreamError(statusError(429, { 'retry-after': '3' }))).toMatchObject({
      retryAfterMs: 3000,
    });
    expect(classifyUpstreamError(statusError(503, { 'retry-after-ms': '40' }))).toMatchObject({
      retryAfterMs: 40,
    });
  });

  it('an exhausted quota is not retryable, and x-should-retry overrides the default', () => {
    expect(classifyUpstreamError(statusError(429, {}, 'insufficient_quota')).retryable).toBe(false);
    expect(classifyUpstreamError(statusError(503, { 'x-should-retry': 'false' })).retryable).toBe(false);
    expect(classifyUpstreamError(statusError(400, { 'x-should-retry': 'true' })).retryable).toBe(true);
  });

  it('maps connection failures, timeouts, in-stream errors and broken streams', () => {
    expect(classifyUpstreamError(new APIConnectionTimeoutError())).toMatchObject({
      code: 'upstream_timeout',
      retryable: true,
    });
    expect(
      classifyUpstreamError(new APIConnectionError({ cause: new Error('connect ECONNREFUSED 127.0.0.1:9') })),
    ).toMatchObject({
      code: 'upstream_error',
      retryable: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(
      classifyUpstreamError(new APIError(undefined, { message: 'overloaded' }, undefined, undefined)),
    ).toMatchObject({
      code: 'upstream_error',
      retryable: true,
    });
    const cut = new TypeError('terminated', { cause: new Error('other side closed') });
    expect(classifyUpstreamError(cut)).toMatchObject({
      code: 'upstream_error',
      retryable: true,
      message: 'model stream broke: terminated (other side closed)',
    });
  });
});

describe('openai errors - retry delay', () => {
  const opts = { baseMs: 100, maxMs: 1000 };
  it('honours retry-after, else full jitter capped at maxMs', () => {
    const limited = {
      code: 'upstream_rate_limited',
      message: '',
      retryable: true,
      retryAfterMs: 4321,
    } as const;
    expect(retryDelayMs(0, limited, opts)).toBe(4321);
    const plain = { code: 'upstream_error', message: '', retryable: true } as const;
    expect(retryDelayMs(0, plain, opts, () => 0.5)).toBe(50);
    expect(retryDelayMs(2, plain, opts, () => 0.5)).toBe(200);
    expect(retryDelayMs(10, plain, opts, () => 0.999)).toBe(999);
    expect(retryDelayMs(3, plain, opts, () => 0)).toBe(0);
  });
});
