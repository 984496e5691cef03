#!/usr/bin/env node
// Installs npm dependencies when they are missing or older than package-lock.json, so that
// `npm start` and `npm test` work on a fresh clone without a separate install step.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale =
  !existsSync(marker) ||
  (existsSync('package-lock.json') &&
    statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs + 1000);
if (stale) {
  const cmd = existsSync('package-lock.json')
    ? 'npm ci --no-audit --no-fund'
    : 'npm install --no-audit --no-fund';
  console.error(`[streamfabric] installing npm dependencies (${cmd})...`);
  try {
    execSync(cmd, { stdio: 'inherit' });
  } catch {
    console.error('[streamfabric] npm install failed: check that the npm registry is reachable (npm ping).');
    process.exit(1);
  }
}
