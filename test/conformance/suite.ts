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

    for (const s of SCENARIOS)
      it(`${s.id}: ${s.title}`, async () => {
        const t0 = Date.now();
        try {
          const notes = await s.run(t!);
          run.results.push({ id: s.id, title: s.title, ok: true, ms: Date.now() - t0, notes });
        } catch (err) {
          const error = String((err as Error).message ?? err)
            .split('\n')[0]!
            .slice(0, 300);
          run.results.push({ id: s.id, title: s.title, ok: false, ms: Date.now() - t0, notes: [], error });
          throw err;
        }
      }, 120_000);
  });
  // A skipped implementation still gets its column, saying why.
  if (skipped) it(`conformance - ${driver.name} is skipped: ${skipped}`, () => void saveRun(run, SCENARIOS));
}
