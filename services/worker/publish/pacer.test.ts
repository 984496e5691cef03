import { describe, expect, it } from 'vitest';
import { PACER_SLACK_MS, TokenPacer } from './pacer.js';

function clocked(rate: number) {
  const clock = { t: 1000 };
  return { clock, pacer: new TokenPacer(rate, () => clock.t) };
}

describe('pacer - rate cap', () => {
  it('without a cap never waits', () => {
    const { pacer } = clocked(0);
    expect(pacer.enabled).toBe(false);
    for (let i = 0; i < 5; i++) {
      expect(pacer.waitMs()).toBe(0);
      pacer.release();
    }
  });

  it('spaces tokens 1000/rate ms apart', () => {
    const { clock, pacer } = clocked(10);
    expect(pacer.waitMs()).toBe(0);
    pacer.release();
    expect(pacer.waitMs()).toBe(100);
    clock.t += 40;
    expect(pacer.waitMs()).toBe(60);
    clock.t += 60;
    expect(pacer.waitMs()).toBe(0);
  });

  it('a token that comes late earns no catch-up burst beyond the slack', () => {
    const { clock, pacer } = clocked(10);
    pacer.release();
    clock.t += 550;
    expect(pacer.waitMs()).toBe(0);
    pacer.release();
    expect(pacer.waitMs()).toBe(100 - PACER_SLACK_MS);
  });

  it('timer lateness within the slack keeps the schedule: the average rate is the cap', () => {
    const { clock, pacer } = clocked(200);
    pacer.release();
    const start = clock.t;
    for (let i = 0; i < 1000; i++) {
      clock.t += pacer.waitMs() + 3; // every wake-up 3 ms late
      pacer.release();
    }
    expect((1000 * 1000) / (clock.t - start)).toBeGreaterThan(199);
  });

  it('no one-second window ever holds more than rate * (1 + slack) + 1 tokens, whatever the timing', () => {
    for (const rate of [1, 7, 50, 333, 1000]) {
      const { clock, pacer } = clocked(rate);
      const released: number[] = [];
      let arrival = clock.t;
      for (let i = 0; i < 3000; i++) {
        // Bursty arrivals (mostly all at once, sometimes after a pause) and random timer lateness.
        arrival += i % 97 === 0 ? 700 : 0;
        clock.t = Math.max(clock.t, arrival);
        clock.t += Math.ceil(pacer.waitMs()) + ((i * 7919) % 13 === 0 ? i % 41 : 0);
        pacer.release();
        released.push(clock.t);
      }
      const bound = Math.floor((rate * (1000 + PACER_SLACK_MS)) / 1000) + 1;
      let start = 0;
      let busiest = 0;
      for (let end = 0; end < released.length; end++) {
        while (released[end]! - released[start]! >= 1000) start++;
        busiest = Math.max(busiest, end - start + 1);
      }
      expect(busiest).toBeLessThanOrEqual(bound);
    }
  });

  it('admit resolves false at once when the signal aborts while it waits', async () => {
    const pacer = new TokenPacer(0.01); // one token per 100 s
    const ac = new AbortController();
    expect(await pacer.admit(ac.signal)).toBe(true);
    const waiting = pacer.admit(ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
  });
});
