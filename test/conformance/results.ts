import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/topology/service-process.js';
import type { Scenario } from './scenarios.js';

/** One implementation's run of the scenario list. */
export interface ConformanceRun {
  driver: string;
  describe: string;
  /** Set when the implementation could not run here. */
  skipped?: string;
  seconds: number;
  results: {
    id: string;
    title: string;
    ok: boolean;
    ms: number;
    notes: string[];
    error?: string;
    /** A known divergence: the driver expects this scenario to fail, and says why. */
    divergence?: string;
  }[];
}

const dir = () => join(repoRoot(), 'test-results', 'conformance');

/**
 * Saves one implementation's run and rewrites the table of every run saved so far
 * (test-results/conformance/conformance.md): scenario × implementation, then the notes where
 * implementations differ.
 */
export function saveRun(run: ConformanceRun, scenarios: Scenario[]): string {
  mkdirSync(dir(), { recursive: true });
  writeFileSync(join(dir(), `${run.driver}.json`), `${JSON.stringify(run, null, 2)}\n`);
  const runs = readdirSync(dir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir(), f), 'utf8')) as ConformanceRun);
  const table = renderTable(runs, scenarios);
  writeFileSync(join(dir(), 'conformance.md'), table);
  return table;
}

export function renderTable(runs: ConformanceRun[], scenarios: Scenario[]): string {
  const cell = (r: ConformanceRun, id: string) => {
    if (r.skipped) return 'skipped';
    const x = r.results.find((y) => y.id === id);
    if (!x) return 'not run';
    if (x.divergence) return x.ok ? '**passes: remove the divergence**' : 'known divergence';
    return x.ok ? 'pass' : '**FAIL**';
  };
  const lines = [
    `| scenario | ${runs.map((r) => r.driver).join(' | ')} |`,
    `|---|${runs.map(() => '---').join('|')}|`,
    ...scenarios.map((s) => `| ${s.id}: ${s.title} | ${runs.map((r) => cell(r, s.id)).join(' | ')} |`),
    `| seconds (whole run, topology included) | ${runs.map((r) => (r.skipped ? '-' : r.seconds.toFixed(0))).join(' | ')} |`,
    '',
    ...runs.map((r) => `- **${r.driver}**: ${r.describe}${r.skipped ? ` (skipped: ${r.skipped})` : ''}`),
    '',
    'Notes (what each implementation did where they may differ):',
    '',
    ...scenarios.flatMap((s) => {
      const notes = runs.flatMap((r) => {
        const x = r.results.find((y) => y.id === s.id);
        const text = [
          ...(x?.divergence ? [`known divergence: ${x.divergence}`] : []),
          ...(x?.notes ?? []),
          ...(x?.error ? [`failed: ${x.error}`] : []),
        ].join('; ');
        return text ? [`  - ${r.driver}: ${text}`] : [];
      });
      return notes.length ? [`- ${s.id}`, ...notes] : [];
    }),
  ];
  return `${lines.join('\n')}\n`;
}
