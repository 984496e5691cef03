import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../loadtest/bench/bench-report.js';
import { isEventsStream } from '../../loadtest/bench/nats-nodes.js';
import { type BenchProcessResult, runBenchProcess } from './run-bench-process.js';

const out = mkdtempSync(join(tmpdir(), 'sf-bench-cluster-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/**
 * The benchmark's cluster mode in its quick form: `npm run bench -- --quick --targets fabric
 * --nats-nodes 3 --partitions 1,3` (one step, no idle or reconnect phase, to stay short).
 */
function runClusterBench(): Promise<BenchProcessResult> {
  return runBenchProcess([
    '--quick',
    '--targets',
    'fabric',
    '--nats-nodes',
    '3',
    '--partitions',
    '1,3',
    '--steps',
    '30',
    '--idle',
    '0',
    '--reconnect-fraction',
    '0',
    '--name',
    'cluster',
    '--out',
    out,
  ]);
}

describe('bench - cluster mode (3 nodes, R3, P = 1 and P = 3)', () => {
  it('runs the fabric at each partition count and reports every node: leader share, stored events, CPU', async () => {
    const r = await runClusterBench();
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const files = readdirSync(out);
    const result = JSON.parse(
      readFileSync(join(out, files.find((f) => f.endsWith('-cluster.json'))!), 'utf8'),
    ) as BenchResult;
    expect(result.targets.map((t) => [t.target, t.partitions, t.natsNodes])).toEqual([
      ['fabric', 1, 3],
      ['fabric', 3, 3],
    ]);
    for (const t of result.targets) {
      expect(t.faults, `P=${t.partitions}`).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
      expect(t.drain.unfinished).toBe(0);
      const step = t.steps[0]!;
      const nodes = step.natsNodes!;
      expect(nodes.map((n) => n.node)).toEqual(['n1', 'n2', 'n3']);
      for (const n of nodes) {
        expect(n.cpuCores, n.node).toBeGreaterThan(0);
        // R3 on three nodes: every node holds (nearly) every event.
        expect(n.storedEventShare, n.node).toBeGreaterThan(0.9);
      }
      // The event leader shares add up to the whole, and every EVENTS partition has a leader.
      expect(nodes.reduce((a, n) => a + n.ledEventShare, 0)).toBeCloseTo(1, 1);
      const eventStreams = nodes.flatMap((n) => n.leads.filter(isEventsStream)).sort();
      expect(eventStreams).toEqual(
        t.partitions === 1 ? ['FABRIC_EVENTS'] : ['FABRIC_EVENTS_0', 'FABRIC_EVENTS_1', 'FABRIC_EVENTS_2'],
      );
      expect(step.streamWrites!.some((s) => isEventsStream(s.name) && s.writesPerSec > 0)).toBe(true);
    }
    // P = 1: one node leads all session events.
    expect(Math.max(...result.targets[0]!.steps[0]!.natsNodes!.map((n) => n.ledEventShare))).toBe(1);
    const rows = result.comparison.partitions!;
    expect(rows.map((x) => x.partitions)).toEqual([1, 3]);
    expect(rows[0]!.eventLeaderNodes).toBe(1);
    // P = 3: the bench spread the partition leaders first (as `npm run nats:spread` does), one
    // EVENTS partition per node...
    const events = result.targets[1]!.leaders!.filter((l) => isEventsStream(l.stream));
    expect(events.map((l) => l.stream)).toEqual(['FABRIC_EVENTS_0', 'FABRIC_EVENTS_1', 'FABRIC_EVENTS_2']);
    expect(new Set(events.map((l) => l.leader)).size).toBe(3);
    for (const l of result.targets[1]!.leaders!) expect(l.leader, l.stream).toBe(l.wanted);
    // ...and the event writes were led by more than one node (an overloaded box may move a leader
    // during the run; at P = 1 one node leads them all).
    expect(rows[1]!.eventLeaderNodes).toBeGreaterThanOrEqual(2);
    expect(rows[1]!.maxLedEventShare).toBeLessThan(0.9);
    expect(result.comparison.leaderSaturation?.steps.length).toBe(1);
    const md = readFileSync(join(out, files.find((f) => f.endsWith('-cluster.md'))!), 'utf8');
    expect(md).toContain('## NATS nodes (3 node(s), streams R3)');
    expect(md).toContain('### Partitions compared');
  }, 120_000);
});
