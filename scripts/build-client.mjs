#!/usr/bin/env node
// Builds the client package (client/package.json):
//   client/dist/esm/       ESM for bundlers and Node (index + react and ai-sdk subpaths), unminified, tree-shakeable
//   client/dist/types/     declarations (zod-inferred protocol types)
//   client/dist/streamfabric.js  one minified ESM file for <script type="module"> (the gateway serves it at /client/)
// and prints the browser bundle's minified + gzipped size, failing above the budget.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const BUDGET_GZIP_BYTES = 12 * 1024;
const common = { bundle: true, format: 'esm', target: 'es2020', sourcemap: true, logLevel: 'warning' };

await build({
  ...common,
  entryPoints: {
    index: 'client/src/index.ts',
    react: 'client/src/react/index.ts',
    'ai-sdk': 'client/src/ai-sdk/index.ts',
  },
  outdir: 'client/dist/esm',
  platform: 'neutral',
  splitting: true,
  external: ['react', 'ai'],
});

const outfile = 'client/dist/streamfabric.js';
const result = await build({
  ...common,
  entryPoints: ['client/src/index.ts'],
  platform: 'browser',
  minify: true,
  outfile,
  metafile: true,
});

// Declarations: tsc with its own config (rootDir covers shared/protocol, whose types the API exposes).
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'client/tsconfig.types.json'], {
  stdio: 'inherit',
});

const bytes = readFileSync(outfile);
const text = bytes.toString();
const gz = gzipSync(bytes, { level: 9 }).length;
const inputs = Object.keys(result.metafile.inputs);
const offenders = inputs.filter((f) => f.includes('node_modules/zod') || f.startsWith('node:'));
if (offenders.length > 0 || /\brequire\(|from"node:/.test(text)) {
  console.error(`[streamfabric] the browser bundle pulls in Node-only code or zod: ${offenders.join(', ')}`);
  process.exit(1);
}
console.error(
  `[streamfabric] client bundle ${outfile}: ${(bytes.length / 1024).toFixed(1)} KB minified, ${(gz / 1024).toFixed(1)} KB gzipped (${inputs.length} modules; budget ${BUDGET_GZIP_BYTES / 1024} KB)`,
);
if (gz > BUDGET_GZIP_BYTES) {
  console.error('[streamfabric] the client bundle is over its gzip budget');
  process.exit(1);
}

// The AI SDK example page's script (client/examples/ai-sdk-chat.html): React, @ai-sdk/react and
// the transport in one file, served by the gateway at /client/examples/ai-sdk-chat.js.
await build({
  ...common,
  entryPoints: ['client/examples/ai-sdk-chat.tsx'],
  outfile: 'client/dist/examples/ai-sdk-chat.js',
  platform: 'browser',
  minify: true,
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
});
