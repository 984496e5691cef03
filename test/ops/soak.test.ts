import { describe, expect, it } from 'vitest';
import { runSoak } from '../../scripts/soak/run-soak.js';

// The short form of `npm run soak`: a minute of streams with churn (connects, dropped sockets and
// resumes on either gateway, follow-up turns, disconnects). Nothing lost, duplicated or reordered,
// every text exact, every process alive, and file descriptors do not pile up with the churn.
describe('soak - short form', () => {
  it('a minute of churn: exact streams, no process lost, no fd growth', async () => {
    const r = await runSoak({ minutes: 1, users: 4, gateways: 2, sampleEveryMs: 2_000 });
    expect(r.totals.sessions).toBeGreaterThan(20);
    expect(r.totals.drops).toBeGreaterThan(0);
    expect(r.totals.followUps).toBeGreaterThan(0);
    expect(r.alive).toBe(true);
    const { lost, duplicated, reordered, textMismatches, unfinished } = r.totals;
    expect({ lost, duplicated, reordered, textMismatches, unfinished }).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      textMismatches: 0,
      unfinished: 0,
    });
    // Churned connections and sessions must be released: a leak of one fd per connection would
    // show as tens of fds here (the run makes dozens of connections).
    for (const p of r.processes) {
      expect(p.samples).toBeGreaterThan(10);
      expect({ process: p.name, fdGrowth: p.fdsEnd - p.fdsStart <= 15 }).toEqual({
        process: p.name,
        fdGrowth: true,
      });
    }
  }, 150_000);
});
