import { readFileSync, writeFileSync } from 'node:fs';
import { CONFIG_DOCS, configTable, configVars, withConfigTable } from './config-docs.js';

/**
 * `npm run docs:config`: regenerates the configuration table of docs/configuration.md from
 * shared/config. With `--check` it writes nothing and exits 1 when the table is stale.
 */
const page = readFileSync(CONFIG_DOCS, 'utf8');
const vars = configVars('shared/config');
const fresh = withConfigTable(page, configTable(vars));
if (process.argv.includes('--check')) {
  const stale = fresh !== page;
  console.error(
    `[streamfabric] ${CONFIG_DOCS}: ${vars.length} variables, table ${stale ? 'STALE (run npm run docs:config)' : 'up to date'}`,
  );
  process.exit(stale ? 1 : 0);
}
writeFileSync(CONFIG_DOCS, fresh);
console.error(`[streamfabric] ${CONFIG_DOCS} configuration table: ${vars.length} variables`);
