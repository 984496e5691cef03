import { describe, expect, it } from 'vitest';
import { leaderSaturation, partitionRows } from '../../loadtest/bench/bench-report.js';
import {
  isEventsStream,
  type NodeSnapshot,
  nodeShares,
  parseJsz,
  streamRates,
} from '../../loadtest/bench/nats-nodes.js';
import type { TargetResult } from '../../loadtest/bench/run-target.js';

/** A cluster where every node holds every stream (R3 on 3 nodes); `lead` maps stream -> leader. */
function snap(
  lead: Record<string, string>,
  seq: Record<string, number>,
  lagging: Record<string, number> = {},
): NodeSnapshot[] {
  return ['n1', 'n2', 'n3'].map((node) => ({
    node,
    streams: Object.entries(lead).map(([name, leader]) => {
      // Followers may report an older state than the leader: the leader's view must win.
      const s = leader === node ? seq[name]! : seq[name]! - (lagging[name] ?? 0);
      return { name, leader, messages: s, bytes: s * 100, lastSeq: s };
    }),
  }));
}

describe('bench cluster mode - per-node shares', () => {
  it('recognises the EVENTS stream and its partitions, nothing else', () => {
    expect(['FABRIC_EVENTS', 'FABRIC_EVENTS_0', 'FABRIC_EVENTS_12'].every(isEventsStream)).toBe(true);
    expect(['FABRIC_JOBS_0', 'KV_fabric_sessions_1', 'FABRIC_EVENTSX'].some(isEventsStream)).toBe(false);
  });

  it('P = 1: the EVENTS leader gets every event write; every node stores a copy', () => {
    const lead = { FABRIC_EVENTS: 'n2', FABRIC_JOBS: 'n1', KV_fabric_sessions: 'n1' };
    const before = snap(lead, { FABRIC_EVENTS: 1000, FABRIC_JOBS: 10, KV_fabric_sessions: 20 });
    const after = snap(
      lead,
      { FABRIC_EVENTS: 11_000, FABRIC_JOBS: 110, KV_fabric_sessions: 420 },
      { FABRIC_EVENTS: 500 },
    );
    const shares = nodeShares(before, after, { n1: 0.2, n2: 0.5, n3: 0.1 }, 10);
    const n2 = shares.find((s) => s.node === 'n2')!;
    expect(n2.leads).toEqual(['FABRIC_EVENTS']);
    expect(n2.ledEventsPerSec).toBe(1000);
    expect(n2.ledEventShare).toBe(1);
    expect(n2.ledWriteShare).toBeCloseTo(10_000 / 10_500, 3);
    expect(n2.cpuUsPerEvent).toBe(500);
    const n1 = shares.find((s) => s.node === 'n1')!;
    expect(n1.leads).toEqual(['FABRIC_JOBS', 'KV_fabric_sessions']);
    expect(n1.ledEventShare).toBe(0);
    expect(n1.ledWritesPerSec).toBe(50);
    expect(shares.find((s) => s.node === 'n3')!.leads).toEqual([]);
    // Stored: each node's own copy; a lagging follower holds a little less than everything.
    expect(n2.storedEventShare).toBe(1);
    expect(n1.storedEvents).toBe(10_500);
    expect(n1.storedEventShare).toBeCloseTo(10_500 / 11_000, 3);
  });

  it('P = 3 with leaders spread: each node leads a third of the event writes', () => {
    const lead = { FABRIC_EVENTS_0: 'n1', FABRIC_EVENTS_1: 'n2', FABRIC_EVENTS_2: 'n3' };
    const before = snap(lead, { FABRIC_EVENTS_0: 0, FABRIC_EVENTS_1: 0, FABRIC_EVENTS_2: 0 });
    const after = snap(lead, { FABRIC_EVENTS_0: 300, FABRIC_EVENTS_1: 300, FABRIC_EVENTS_2: 300 });
    const shares = nodeShares(before, after, { n1: 0.1, n2: 0.1, n3: 0.1 }, 1);
    expect(shares.map((s) => s.ledEventShare)).toEqual([0.333, 0.333, 0.333]);
    expect(shares.map((s) => s.leads)).toEqual([
      ['FABRIC_EVENTS_0'],
      ['FABRIC_EVENTS_1'],
      ['FABRIC_EVENTS_2'],
    ]);
    expect(streamRates(before, after, 1).map((r) => r.writesPerSec)).toEqual([300, 300, 300]);
  });

  it('a node that does not answer still gets a row (its CPU), with nothing led', () => {
    const lead = { FABRIC_EVENTS: 'n1' };
    const before = snap(lead, { FABRIC_EVENTS: 0 }).slice(0, 2);
    const after = snap(lead, { FABRIC_EVENTS: 100 }).slice(0, 2);
    const shares = nodeShares(before, after, { n1: 0.1, n2: 0.1, n3: 0.05 }, 1);
    expect(shares.map((s) => s.node)).toEqual(['n1', 'n2', 'n3']);
    expect(shares[2]).toMatchObject({ leads: [], ledWritesPerSec: 0, storedEvents: 0, cpuCores: 0.05 });
  });

  it('parses /jsz?streams=true (clustered and standalone)', () => {
    const jsz = {
      server_name: 'n2',
      account_details: [
        {
          stream_detail: [
            {
              name: 'FABRIC_EVENTS_1',
              cluster: { leader: 'n2' },
              state: { messages: 5, bytes: 50, last_seq: 7 },
            },
            {
              name: 'FABRIC_JOBS_1',
              cluster: { leader: 'n3' },
              state: { messages: 0, bytes: 0, last_seq: 3 },
            },
          ],
        },
      ],
    };
    expect(parseJsz('x', jsz)).toEqual({
      node: 'n2',
      streams: [
        { name: 'FABRIC_EVENTS_1', leader: 'n2', messages: 5, bytes: 50, lastSeq: 7 },
        { name: 'FABRIC_JOBS_1', leader: 'n3', messages: 0, bytes: 0, lastSeq: 3 },
      ],
    });
    const alone = parseJsz('n1', { account_details: [{ stream_detail: [{ name: 'FABRIC_EVENTS' }] }] });
    expect(alone.streams[0]).toMatchObject({ leader: 'n1', lastSeq: 0 });
  });

  it('summarises P = 1 against P = 3 and the single leader saturation point', () => {
    const node = (n: string, leads: string[], cpu: number, share: number, ev: number) => ({
      node: n,
      cpuCores: cpu,
      leads,
      ledWritesPerSec: ev,
      ledWriteShare: share,
      ledEventsPerSec: ev,
      ledEventShare: share,
      storedEvents: 0,
      storedEventBytes: 0,
      storedEventShare: 1,
      cpuUsPerEvent: 0,
    });
    const step = (streams: number, nodes: ReturnType<typeof node>[]) =>
      ({
        streams,
        eventsPerSec: nodes.reduce((a, n) => a + n.ledEventsPerSec, 0),
        latency: { p99: 50 },
        machine: { loadAvg1: 3 },
        held: true,
        natsNodes: nodes,
      }) as unknown as TargetResult['steps'][number];
    const p1: TargetResult = {
      target: 'fabric',
      natsNodes: 3,
      partitions: 1,
      steps: [
        step(100, [
          node('n1', [], 0.1, 0, 0),
          node('n2', ['FABRIC_EVENTS'], 0.3, 1, 1000),
          node('n3', [], 0.1, 0, 0),
        ]),
        step(200, [
          node('n1', [], 0.15, 0, 0),
          node('n2', ['FABRIC_EVENTS'], 0.5, 1, 2000),
          node('n3', [], 0.15, 0, 0),
        ]),
      ],
    } as unknown as TargetResult;
    const p3 = {
      ...p1,
      partitions: 3,
      steps: [
        step(
          100,
          ['n1', 'n2', 'n3'].map((n, i) => node(n, [`FABRIC_EVENTS_${i}`], 0.17, 0.333, 333)),
        ),
      ],
    } as TargetResult;
    const rows = partitionRows([p1, p3]);
    expect(rows.map((r) => [r.partitions, r.streams, r.eventLeaderNodes, r.maxLedEventShare])).toEqual([
      [1, 100, 1, 1],
      [1, 200, 1, 1],
      [3, 100, 3, 0.333],
    ]);
    expect(rows[0]!.cpuImbalance).toBeCloseTo(0.3 / (0.5 / 3), 2);
    expect(rows[2]!.cpuImbalance).toBe(1);
    const sat = leaderSaturation([p1, p3])!;
    expect(sat.leaderNode).toBe('n2');
    expect(sat.steps.map((s) => s.leaderUsPerEvent)).toEqual([300, 250]);
    expect(sat.eventsPerSecPerLeaderCore).toBe(4000);
    // Marginal: 0.2 cores more for 1000 events/s more = 200 µs per added event.
    expect(sat.marginalUsPerEvent).toBe(200);
    expect(sat.eventsPerSecPerLeaderCoreMarginal).toBe(5000);
    expect(sat.measuredToSaturation).toBe(false);
    expect(sat.heldEventsPerSec).toBe(2000);
  });
});
