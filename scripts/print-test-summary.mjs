#!/usr/bin/env node
// Prints vitest's totals as one plain closing line ("N passed, N failed, N skipped") from the
// JSON report, so CI logs end with a line any tool can read. A file whose hooks failed (e.g. a
// beforeAll timeout) reports its tests as skipped: those count as failed here, never as skipped.
import { existsSync, readFileSync } from 'node:fs';

const file = 'test-results/vitest.json';
if (!existsSync(file)) process.exit(0);
const r = JSON.parse(readFileSync(file, 'utf8'));
let failed = r.numFailedTests ?? 0;
let skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
for (const f of r.testResults ?? []) {
  if (f.status !== 'failed') continue;
  const unrun = (f.assertionResults ?? []).filter(
    (a) => a.status === 'skipped' || a.status === 'pending',
  ).length;
  const failedHere = (f.assertionResults ?? []).some((a) => a.status === 'failed');
  failed += failedHere ? unrun : Math.max(1, unrun);
  skipped -= unrun;
}
console.log(`Tests: ${r.numPassedTests} passed, ${failed} failed, ${Math.max(0, skipped)} skipped`);
