import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureTool, K6 } from '../../scripts/tools/ensure-tool.js';

const dir = 'loadtest/k6';
const scripts = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.js'));

describe('k6 scripts - written for users who have k6', () => {
  it('parse as JavaScript modules (node --check)', () => {
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const f of scripts) execFileSync(process.execPath, ['--check', join(dir, f)]);
  });

  it('ensureTool(K6) explains why k6 is missing instead of trying to fetch it', () => {
    const saved = { PATH: process.env.PATH, K6_BIN: process.env.K6_BIN, XDG: process.env.XDG_CACHE_HOME };
    process.env.PATH = '/nonexistent';
    process.env.XDG_CACHE_HOME = '/nonexistent';
    delete process.env.K6_BIN;
    try {
      expect(() => ensureTool(K6)).toThrow(/refuses go\.k6\.io\/k6.*AGPL-3\.0.*not-to-use.*K6_BIN/s);
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.K6_BIN !== undefined) process.env.K6_BIN = saved.K6_BIN;
      if (saved.XDG === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.XDG;
    }
  });
});
