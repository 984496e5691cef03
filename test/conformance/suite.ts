import { afterAll, beforeAll, describe, it } from 'vitest';
import type { WorkerDriver } from './driver.js';
import { type ConformanceRun, saveRun } from './results.js';
import { SCENARIOS } from './scenarios.js';
import { type ConformanceTopology, startConformanceTopology } from './topology.js';

/**
 * Registers the whole scenario list against one implementation, on one shared topology, and
 * saves its column of the conformance table (test-results/conformance/) when the file ends.
 */
export function conformanceSuite(driver: WorkerDriver): void {
  const skipped = driver.unavailable();
  const run: ConformanceRun = {
    driver: driver.name,
    describe: driver.describe,
    seconds: 0,
    results: [],
    ...(skipped ? { skipped } : {}),
  };
  const began = Date.now();
  let t: ConformanceTopology | undefined;

  describe.skipIf(skipped !== undefined)(`conformance - ${driver.name}`, () => {
    beforeAll(async () => {
      t = await startConformanceTopology(driver);
    }, 120_000);
    afterAll(async () => {
      await t?.stop();
      run.seconds = (Date.now() - began) / 1000;
      const table = saveRun(run, SCENARIOS);
      console.log(`conformance table:\n${table}`);
    });

    for (const s of SCENARIOS) {
      const divergence = driver.divergences?.[s.id];
      // A known divergence must fail: once fixed, the run goes red until the entry is removed.
      const test = divergence ? it.fails : it;
      const title = `${s.id}: ${s.title}${divergence ? ' (known divergence: must fail)' : ''}`;
      test(title, async () => {
        const t0 = Date.now();
        const result: ConformanceRun['results'][number] = {
          id: s.id,
          title: s.title,
          ok: false,
          ms: 0,
          notes: [],
          ...(divergence ? { divergence } : {}),
        };
        run.results.push(result);
        try {
          await s.run(t!, result.notes);
          result.ok = true;
        } catch (err) {
          result.error = String((err as Error).message ?? err)
            .split('\n')[0]!
            .slice(0, 300);
          throw err;
        } finally {
          result.ms = Date.now() - t0;
        }
      }, 120_000);
    }
  });
  // A skipped implementation still gets its column, saying why.
  if (skipped) it(`conformance - ${driver.name} is skipped: ${skipped}`, () => void saveRun(run, SCENARIOS));
}
