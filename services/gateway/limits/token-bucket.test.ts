import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('limits - token bucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 3, () => now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.msUntilNext()).toBe(100);
    now = 99;
    expect(b.take()).toBe(false);
    now = 100;
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });

  it('never holds more than the burst after a long idle time', () => {
    let now = 0;
    const b = new TokenBucket(1000, 2, () => now);
    now = 1_000_000;
    expect([b.take(), b.take(), b.take()]).toEqual([true, true, false]);
  });
});
