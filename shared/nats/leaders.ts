import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { kvStreamName, partitionNames } from './subjects.js';

/** Where one partitioned stream's leader is and where {@link spreadLeaders} wants it. */
export interface LeaderPlacement {
  stream: string;
  leader: string;
  wanted: string;
}

/**
 * Every partitioned stream of the current layout (events, jobs, and the streams behind the
 * session and snapshot buckets), grouped by kind: within a kind, partition i should be led by
 * node i mod N.
 */
export function partitionedStreams(): string[][] {
  const parts = partitionNames();
  return [
    parts.map((p) => p.eventsStream),
    parts.map((p) => p.jobsStream),
    parts.map((p) => kvStreamName(p.sessionsBucket)),
    parts.map((p) => kvStreamName(p.snapshotsBucket)),
  ];
}

/**
 * Spreads the leaders of the partitioned streams over the cluster's nodes (docs/partitions.md):
 * partition i of each kind is led by the i-th node (sorted by name) of its replicas. JetStream
 * places replicas but does not choose leaders, so a leader on the wrong node is asked to step
 * down with that node as the preferred successor (`$JS.API.STREAM.LEADER.STEPDOWN` with
 * `placement.preferred`, nats-server 2.11+). Idempotent: streams already led where wanted are left
 * alone. R1 streams (one node) are skipped. Returns the placement after the moves.
 */
export async function spreadLeaders(
  nc: NatsConnection,
  o: { timeoutMs?: number; log?: (msg: string) => void } = {},
): Promise<LeaderPlacement[]> {
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const out: LeaderPlacement[] = [];
  for (const group of partitionedStreams()) {
    for (const [i, stream] of group.entries()) {
      const info = await jsm.streams.info(stream);
      const leader = info.cluster?.leader ?? '';
      const peers = [leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].filter(Boolean).sort();
      if (peers.length < 2) {
        out.push({ stream, leader, wanted: leader });
        continue;
      }
      const wanted = peers[i % peers.length]!;
      let now = leader;
      const deadline = Date.now() + (o.timeoutMs ?? 20_000);
      while (now !== wanted && Date.now() < deadline) {
        o.log?.(`${stream}: leader ${now}, moving it to ${wanted}`);
        await nc
          .request(
            `$JS.API.STREAM.LEADER.STEPDOWN.${stream}`,
            JSON.stringify({ placement: { preferred: wanted } }),
            { timeout: 5_000 },
          )
          .catch(() => undefined);
        // The election takes a moment: read the leader until it is known again.
        for (let t = 0; t < 50; t++) {
          await new Promise((r) => setTimeout(r, 100));
          const l = await jsm.streams
            .info(stream)
            .then((s) => s.cluster?.leader ?? '')
            .catch(() => '');
          if (l) {
            now = l;
            break;
          }
        }
      }
      out.push({ stream, leader: now, wanted });
    }
  }
  return out;
}
