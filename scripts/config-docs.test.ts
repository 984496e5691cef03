import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, configTable, configVars, withConfigTable } from './config-docs.js';

describe('docs - configuration table', () => {
  it('docs/configuration.md documents every environment variable of every service, as the config schemas define them', () => {
    const page = readFileSync(CONFIG_DOCS, 'utf8');
    const vars = configVars('shared/config');
    expect(vars.length).toBeGreaterThan(30);
    // Stale table? Run `npm run docs:config`.
    expect(withConfigTable(page, configTable(vars))).toBe(page);
  });

  it('every variable has a doc comment in its config source', () => {
    const undocumented = configVars('shared/config')
      .filter((v) => v.description.length < 10)
      .map((v) => v.name);
    expect(undocumented).toEqual([]);
  });
});
