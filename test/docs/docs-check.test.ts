import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokenLinks, docFiles, parseDoc, runnableBlocks } from '../../scripts/docs/docs-check.js';

// README.md is a short door over docs/: every relative link and #anchor resolves, every block a
// page marks ```sh runnable exits 0, and CI runs exactly the README's test command.
const root = process.cwd();
const files = docFiles(root);

describe('docs check - links and anchors', () => {
  it('slugs headings as GitHub does and finds links outside code only', () => {
    const doc = parseDoc(
      'x.md',
      [
        '# Results (2026-11-28, current code)',
        '## The cost of `sync_interval: always`',
        '## Results (2026-11-28, current code)',
        'See [a](other.md#b) and ![img](pic.svg).',
        '```bash',
        'echo [not](a-link.md)',
        '```',
        '```sh runnable',
        'true',
        '```',
      ].join('\n'),
    );
    expect([...doc.anchors]).toEqual([
      'results-2026-11-28-current-code',
      'the-cost-of-sync_interval-always',
      'results-2026-11-28-current-code-1',
    ]);
    expect(doc.links.map((l) => l.href)).toEqual(['other.md#b', 'pic.svg']);
    expect(doc.runnable).toEqual([{ from: 'x.md', code: 'true' }]);
  });

  it('reports a missing page, a missing anchor and an anchor into a non-markdown file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-docs-'));
    try {
      mkdirSync(join(dir, 'docs'));
      writeFileSync(
        join(dir, 'README.md'),
        '[a](docs/a.md#a) [b](docs/a.md#nope) [c](docs/gone.md) [d](x.txt#y)\n',
      );
      writeFileSync(join(dir, 'docs/a.md'), '# A\n[back](../README.md) [self](#a)\n');
      writeFileSync(join(dir, 'x.txt'), 'x');
      expect(brokenLinks(dir, docFiles(dir))).toEqual([
        'README.md: docs/a.md#nope (no heading #nope in docs/a.md)',
        'README.md: docs/gone.md (no file docs/gone.md)',
        'README.md: x.txt#y (an anchor into a file that is not markdown)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('README.md and every docs/ page: each relative link and anchor resolves', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(brokenLinks(root, files)).toEqual([]);
  });

  it('README stays a short door (at most 200 lines, none longer than 400 characters)', () => {
    const lines = readFileSync('README.md', 'utf8').split('\n');
    expect(lines.length).toBeLessThanOrEqual(200);
    expect(lines.filter((l) => l.length > 400)).toEqual([]);
  });

  it('.ci/run calls exactly the test command the README gives', () => {
    const readme = readFileSync('README.md', 'utf8');
    const command = /^(npm test)\s+#/m.exec(readme)?.[1];
    expect(command).toBe('npm test');
    const ci = readFileSync('.ci/run', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(ci).toEqual([command]);
  });
});

describe('docs check - runnable commands', () => {
  const blocks = runnableBlocks(root, files);
  it('some pages mark commands as runnable', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });
  for (const [i, b] of blocks.entries()) {
    it(`${b.from} block ${i + 1} exits 0: ${b.code.split('\n')[0]!.slice(0, 60)}`, () => {
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', b.code], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect({ status: r.status, stderr: r.stderr.slice(0, 2000) }).toEqual({
        status: 0,
        stderr: expect.any(String),
      });
    });
  }
});
