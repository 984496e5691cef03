#!/usr/bin/env node
// Prints vitest's totals as one plain closing line ("N passed, N failed, N skipped") from the
// JSON report, so CI logs end with a line any tool can read.
import { existsSync, readFileSync } from 'node:fs';

const file = 'test-results/vitest.json';
if (!existsSync(file)) process.exit(0);
const r = JSON.parse(readFileSync(file, 'utf8'));
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
