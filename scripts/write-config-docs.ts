import { readFileSync, writeFileSync } from 'node:fs';
import { configTable, configVars, withConfigTable } from './config-docs.js';

/** `npm run docs:config`: regenerates README's configuration table from shared/config. */
const readme = readFileSync('README.md', 'utf8');
const vars = configVars('shared/config');
writeFileSync('README.md', withConfigTable(readme, configTable(vars)));
console.error(`[streamfabric] README configuration table: ${vars.length} variables`);
