import { describe, expect, it } from 'vitest';
import { chaosSummaryLine, runChaos } from '../../scripts/chaos/run-chaos.js';

// The short form of `npm run chaos`: the same runner, topology and fault kinds, fewer sessions,
// with two AutoGen bridge workers mixed in (`--bridge-workers 2`: half the sessions, and their
// share of worker faults). CHAOS_SEED replays a failing run.
const seed = Number(process.env.CHAOS_SEED ?? 20_251_127);

describe('chaos - short run', () => {
  it('loses, duplicates and reorders nothing while gateways, workers, NATS nodes and connections fail', async () => {
    const report = await runChaos({
      seed,
      sessions: 30,
      faults: 8,
      clients: 4,
      concurrency: 3,
      bridgeWorkers: 2,
    });
    console.log(chaosSummaryLine(report));
    if (report.problems.length > 0) console.log(JSON.stringify(report.problems.slice(0, 5)));
    expect(report.faults).toBeGreaterThanOrEqual(8);
    expect(report.sessions).toBeGreaterThanOrEqual(30);
    expect(report.bridgeSessions).toBeGreaterThan(0);
    expect(report.events).toBeGreaterThan(0);
    expect({
      lost: report.lost,
      duplicated: report.duplicated,
      reordered: report.reordered,
      textMismatch: report.textMismatch,
      unfinished: report.unfinished,
      failed: report.failed,
    }).toEqual({ lost: 0, duplicated: 0, reordered: 0, textMismatch: 0, unfinished: 0, failed: 0 });
  }, 300_000);
});
