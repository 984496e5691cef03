import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../scripts/topology/wait.js';
import { TickWheel } from './tick-wheel.js';

describe('tick wheel - shared timer', () => {
  it('runs callbacks in deadline order, never before their deadline', async () => {
    const wheel = new TickWheel(5);
    const ran: { id: number; late: number }[] = [];
    const t0 = performance.now();
    for (const [id, delay] of [
      [3, 60],
      [1, 0],
      [2, 20],
    ] as const)
      wheel.schedule(delay, () => ran.push({ id, late: performance.now() - t0 - delay }));
    await waitFor(() => ran.length === 3, { timeoutMs: 5_000, intervalMs: 5, what: 'callbacks' });
    expect(ran.map((r) => r.id)).toEqual([1, 2, 3]);
    for (const r of ran) expect(r.late).toBeGreaterThanOrEqual(-0.5);
    expect(wheel.pending).toBe(0);
  });

  it('cancel stops a callback; a callback may schedule again', async () => {
    const wheel = new TickWheel(5);
    let cancelled = 0;
    let again = 0;
    const fn = () => cancelled++;
    const slot = wheel.schedule(10, fn);
    wheel.schedule(10, () => wheel.schedule(0, () => again++));
    wheel.cancel(slot, fn);
    await waitFor(() => again === 1, { timeoutMs: 5_000, intervalMs: 5, what: 'rescheduled callback' });
    expect(cancelled).toBe(0);
    expect(wheel.pending).toBe(0);
  });

  it('sleep resolves after the delay', async () => {
    const wheel = new TickWheel(5);
    const t0 = performance.now();
    await wheel.sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29.5);
  });
});
