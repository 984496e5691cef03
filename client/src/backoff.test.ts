import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

const policy = { baseMs: 100, maxMs: 5_000 };

describe('backoff - full jitter', () => {
  it('grows the ceiling exponentially from baseMs', () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, policy, top)).toBe(99);
    expect(backoffDelay(1, policy, top)).toBe(199);
    expect(backoffDelay(3, policy, top)).toBe(799);
  });

  it('never exceeds the cap, even for huge attempt counts', () => {
    for (const attempt of [6, 10, 60, 1_000, Number.MAX_SAFE_INTEGER]) {
      const d = backoffDelay(attempt, policy, () => 0.999999);
      expect(d).toBeLessThan(5_000);
      expect(d).toBeGreaterThan(4_900);
    }
  });

  it('spreads delays over the whole [0, ceiling) range (full jitter, not equal jitter)', () => {
    expect(backoffDelay(4, policy, () => 0)).toBe(0);
    const seen = Array.from({ length: 2_000 }, () => backoffDelay(4, policy));
    expect(Math.min(...seen)).toBeLessThan(100);
    expect(Math.max(...seen)).toBeGreaterThan(1_500);
    expect(seen.every((d) => Number.isInteger(d) && d >= 0 && d < 1_600)).toBe(true);
  });

  it('treats negative or fractional attempts as the first attempt range', () => {
    expect(backoffDelay(-3, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(1.7, policy, () => 0.5)).toBe(100);
  });
});
