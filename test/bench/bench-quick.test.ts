import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../loadtest/bench/bench-report.js';
import { CENTRIFUGO, ensureTool } from '../../scripts/tools/ensure-tool.js';
import { runBenchProcess } from './run-bench-process.js';

const out = mkdtempSync(join(tmpdir(), 'sf-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
// On a fresh machine Centrifugo is built once with `go install` (minutes on a busy box): do it
// here, so the run itself is timed without it.
beforeAll(() => {
  ensureTool(CENTRIFUGO);
}, 1_200_000);

/** `npm run bench -- --quick` after building. */
const runQuickBench = () => runBenchProcess(['--quick', '--out', out]);

describe('bench - quick run', () => {
  it('loads the fabric, both baselines and Centrifugo, proves no loss and writes json, markdown and svg', async () => {
    const r = await runQuickBench();
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const lastLine = r.stdout.trim().split('\n').at(-1)!;
    expect(lastLine).toMatch(/^knee: \d+ streams at p99 < 200 ms/);

    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('-quick.json'))!;
    expect(files.some((f) => f.endsWith('-quick.md'))).toBe(true);
    expect(readFileSync(join(out, files.find((f) => f.endsWith('.svg'))!), 'utf8')).toContain('<svg');
    const result = JSON.parse(readFileSync(join(out, json), 'utf8')) as BenchResult;
    expect(result.targets.map((t) => t.target)).toEqual(['fabric', 'socketio', 'uws', 'centrifugo']);
    for (const t of result.targets) {
      // Correctness holds whatever the machine's load: every event once, in order, right text.
      expect(t.faults, t.target).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
      expect(t.totals.events, t.target).toBeGreaterThan(100);
      expect(t.totals.textChecked, t.target).toBeGreaterThan(0);
      expect(t.totals.textMismatch, t.target).toBe(0);
      expect(t.drain.unfinished, t.target).toBe(0);
      expect(t.steps[0]!.latency.count, t.target).toBeGreaterThan(0);
    }
    const fabric = result.targets[0]!;
    expect(fabric.steps[0]!.resume?.count).toBeGreaterThan(0);
    expect(fabric.steps[0]!.cpuCores.gateway).toBeGreaterThan(0);
    expect(fabric.idle[0]!.idleStreams).toBe(50);
    // The peer: its clients resumed from Centrifugo's history, its idle memory was measured on a
    // fresh node, and its memory history did not survive a restart.
    const cf = result.targets[3]!;
    expect(cf.steps[0]!.resume?.count).toBeGreaterThan(0);
    expect(cf.steps[0]!.cpuCores.gateway).toBeGreaterThan(0);
    expect(cf.idle[0]!.idleStreams).toBe(50);
    expect(cf.survives?.afterRestart.missedRecovered).toBe(0);
    expect(result.comparison.vsCentrifugo.length).toBeGreaterThan(0);
  }, 150_000);
});
