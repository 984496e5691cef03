/**
 * Per-node view of a NATS cluster during a benchmark window: which streams each node leads, how
 * many messages were written to them, what each node stores, and each node's CPU. A stream is one
 * Raft group with one leader; every write to it passes through that leader, so "messages written
 * to streams it leads" is the node's share of the write load. With R3 on three nodes every node
 * stores a copy of everything: the stored share says so, the leader share is what partitions spread.
 */

/** One stream as one node reports it in /jsz?streams=true. */
export interface StreamView {
  name: string;
  /** server_name of the stream's leader, as this node sees it ('' when unknown). */
  leader: string;
  messages: number;
  bytes: number;
  lastSeq: number;
}

/** What one node reports at one instant. */
export interface NodeSnapshot {
  node: string;
  streams: StreamView[];
}

/** One node's share of one measurement window. */
export interface NodeShare {
  node: string;
  /** CPU cores this nats-server process used during the window (from /proc, like proc-stats). */
  cpuCores: number;
  /** Streams whose leader this node was at the end of the window. */
  leads: string[];
  /** Messages written during the window to streams this node leads (all streams), per second. */
  ledWritesPerSec: number;
  /** Of every message written during the window, the fraction that went through this node as leader. */
  ledWriteShare: number;
  /** Session events (EVENTS streams) written through this node as leader, per second. */
  ledEventsPerSec: number;
  /** Of the session events written during the window, the fraction this node led. */
  ledEventShare: number;
  /** Session events this node holds a copy of at the end of the window (its replicas). */
  storedEvents: number;
  storedEventBytes: number;
  /** storedEvents / all session events in the fabric (1 = a copy of everything, as R3 on 3 nodes gives). */
  storedEventShare: number;
  /** CPU µs this node spent per session event written in the whole fabric during the window. */
  cpuUsPerEvent: number;
}

/** One stream's write rate in the window and its leader. */
export interface StreamRate {
  name: string;
  leader: string;
  writesPerSec: number;
  bytesPerSec: number;
}

/** EVENTS streams: FABRIC_EVENTS and its partitions (FABRIC_EVENTS_0, ...), whatever the suffix. */
export const isEventsStream = (name: string) => /^FABRIC_EVENTS(\b|_)/.test(name);

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * The authoritative view of each stream: the one its leader reports (followers may lag behind),
 * else the most advanced copy.
 */
export function leaderViews(snaps: NodeSnapshot[]): Map<string, StreamView> {
  const out = new Map<string, StreamView>();
  const own = new Set<string>();
  for (const s of snaps)
    for (const v of s.streams) {
      if (own.has(v.name)) continue;
      const prev = out.get(v.name);
      if (v.leader === s.node) {
        out.set(v.name, v);
        own.add(v.name);
      } else if (!prev || v.lastSeq > prev.lastSeq)
        out.set(v.name, { ...v, leader: v.leader || prev?.leader || '' });
    }
  return out;
}

/** Write rate of every stream between two snapshots of the cluster (sorted by rate, highest first). */
export function streamRates(before: NodeSnapshot[], after: NodeSnapshot[], seconds: number): StreamRate[] {
  const a = leaderViews(before);
  const b = leaderViews(after);
  const out: StreamRate[] = [];
  for (const [name, v] of b) {
    const p = a.get(name);
    out.push({
      name,
      leader: v.leader,
      writesPerSec: round(Math.max(0, v.lastSeq - (p?.lastSeq ?? 0)) / seconds, 1),
      bytesPerSec: Math.round(Math.max(0, v.bytes - (p?.bytes ?? 0)) / seconds),
    });
  }
  return out.sort((x, y) => y.writesPerSec - x.writesPerSec || x.name.localeCompare(y.name));
}

/** Each node's share of the window: leader share of the writes, stored share, CPU. */
export function nodeShares(
  before: NodeSnapshot[],
  after: NodeSnapshot[],
  cpuCores: Record<string, number>,
  seconds: number,
): NodeShare[] {
  const rates = streamRates(before, after, seconds);
  const totalWrites = rates.reduce((s, r) => s + r.writesPerSec, 0);
  const eventRates = rates.filter((r) => isEventsStream(r.name));
  const totalEvents = eventRates.reduce((s, r) => s + r.writesPerSec, 0);
  const views = leaderViews(after);
  const allEvents = [...views.values()]
    .filter((v) => isEventsStream(v.name))
    .reduce((s, v) => s + v.messages, 0);
  const nodes = [...new Set([...after.map((s) => s.node), ...Object.keys(cpuCores)])].sort();
  return nodes.map((node) => {
    const led = rates.filter((r) => r.leader === node);
    const ledWrites = led.reduce((s, r) => s + r.writesPerSec, 0);
    const ledEvents = led.filter((r) => isEventsStream(r.name)).reduce((s, r) => s + r.writesPerSec, 0);
    const own = after.find((s) => s.node === node)?.streams.filter((v) => isEventsStream(v.name)) ?? [];
    const stored = own.reduce((s, v) => s + v.messages, 0);
    const cpu = cpuCores[node] ?? 0;
    return {
      node,
      cpuCores: round(cpu, 2),
      leads: led.map((r) => r.name).sort(),
      ledWritesPerSec: round(ledWrites, 1),
      ledWriteShare: totalWrites > 0 ? round(ledWrites / totalWrites) : 0,
      ledEventsPerSec: round(ledEvents, 1),
      ledEventShare: totalEvents > 0 ? round(ledEvents / totalEvents) : 0,
      storedEvents: stored,
      storedEventBytes: own.reduce((s, v) => s + v.bytes, 0),
      storedEventShare: allEvents > 0 ? round(stored / allEvents) : 0,
      cpuUsPerEvent: totalEvents > 0 ? round((cpu * 1e6) / totalEvents, 1) : 0,
    };
  });
}

interface JszStream {
  name?: string;
  cluster?: { leader?: string };
  state?: { messages?: number; bytes?: number; last_seq?: number };
}
interface Jsz {
  server_name?: string;
  account_details?: { stream_detail?: JszStream[] }[];
}

/** Parses one node's /jsz?streams=true answer (a node lists the streams it holds a replica of). */
export function parseJsz(node: string, j: Jsz): NodeSnapshot {
  const streams: StreamView[] = [];
  for (const acc of j.account_details ?? [])
    for (const s of acc.stream_detail ?? [])
      if (s.name)
        streams.push({
          name: s.name,
          // A standalone server has no cluster block: it leads everything it has.
          leader: s.cluster?.leader ?? node,
          messages: s.state?.messages ?? 0,
          bytes: s.state?.bytes ?? 0,
          lastSeq: s.state?.last_seq ?? 0,
        });
  return { node: j.server_name ?? node, streams };
}

/** Reads /jsz?streams=true from every node; a node that does not answer reports no streams. */
export async function clusterSnapshot(
  nodes: { name: string; host: string; monitorPort: number }[],
): Promise<NodeSnapshot[]> {
  return Promise.all(
    nodes.map(async (n) => {
      try {
        const r = await fetch(`http://${n.host}:${n.monitorPort}/jsz?streams=true`, {
          signal: AbortSignal.timeout(5_000),
        });
        return parseJsz(n.name, (await r.json()) as Jsz);
      } catch {
        return { node: n.name, streams: [] };
      }
    }),
  );
}
