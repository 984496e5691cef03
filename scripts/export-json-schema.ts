import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchemaFiles, SCHEMA_DIRS } from './json-schema-files.js';

/**
 * `npm run schemas`: writes the protocol's zod schemas as JSON Schema files (commit them; a test
 * fails when they are stale).
 */
const here = dirname(fileURLToPath(import.meta.url));
const root = here.includes('/dist/') ? resolve(here, '..', '..') : resolve(here, '..');
const files = renderSchemaFiles();
for (const dir of SCHEMA_DIRS) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, dir, name), text);
  process.stdout.write(`wrote ${Object.keys(files).length} schemas to ${dir}/\n`);
}
