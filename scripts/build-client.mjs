#!/usr/bin/env node
import { readFileSync } from 'node:fs';
// Builds the browser bundle of the client (one ESM file the gateway serves at /client/) and
// prints its minified + gzipped size.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const outfile = 'client/dist/streamfabric.js';
await build({
  entryPoints: ['client/src/index.ts'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  outfile,
  logLevel: 'warning',
});
const bytes = readFileSync(outfile);
const gz = gzipSync(bytes).length;
console.error(
  `[streamfabric] client bundle ${outfile}: ${(bytes.length / 1024).toFixed(1)} KB minified, ${(gz / 1024).toFixed(1)} KB gzipped`,
);
