import { describe, expect, it } from 'vitest';
import { FrameRateGuard } from './frame-rate-guard.js';

describe('limits - frame rate guard', () => {
  it('accepts the burst, rejects with a retry hint, then closes with 4008 after too many rejections', () => {
    const g = new FrameRateGuard({ framesPerSecond: 1, burst: 2, closeAfter: 3 });
    expect(g.check().action).toBe('accept');
    expect(g.check().action).toBe('accept');
    const rejected = g.check();
    expect(rejected).toMatchObject({ action: 'reject', error: { code: 'rate_limited', retryable: true } });
    expect(rejected.action === 'reject' && rejected.error.retryAfterMs).toBeGreaterThan(0);
    expect(g.check().action).toBe('reject');
    expect(g.check()).toMatchObject({ action: 'close', code: 4008 });
  });
});
