import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import { JetStreamEventLog } from './event-log.js';
import { PartitionLayoutError, provisionFabric } from './provision.js';
import { SessionRegistry } from './session-registry.js';
import {
  EVENTS_STREAM,
  eventsStream,
  layoutsToSearch,
  META_BUCKET,
  META_PARTITIONS_KEY,
  SESSIONS_BUCKET,
  setPartitionLayout,
  subjects,
} from './subjects.js';

let nats: NatsCluster;
let nc: NatsConnection;
const base = {
  NATS_REPLICAS: 1,
  NATS_STORAGE: 'file' as const,
  EVENTS_MAX_AGE_SECONDS: 3600,
  EVENTS_MAX_BYTES: 0,
  NATS_DUPLICATE_WINDOW_MS: 120_000,
};

beforeAll(async () => {
  nats = await startNats({ nodes: 1 });
  nc = await connect({ servers: nats.urls.split(',') });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  setPartitionLayout(1);
});

describe('partition layout - a fabric from before partitions grows to P = 3', () => {
  it('keeps the unpartitioned sessions resumable, and refuses a smaller P', async () => {
    // What an earlier version left: FABRIC_EVENTS on fabric.ev.>, the fabric_sessions bucket, no fabric_meta.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: EVENTS_STREAM, subjects: ['fabric.ev.>'], allow_direct: true });
    await jetstream(nc).publish(
      'fabric.ev.t1.s_oldsession1',
      JSON.stringify({ sid: 's_oldsession1', seq: 1 }),
    );
    const legacy = await new Kvm(nc).create(SESSIONS_BUCKET, { history: 1 });
    const now = Date.now();
    await legacy.put(
      's_oldsession1',
      JSON.stringify({
        sid: 's_oldsession1',
        tenant: 't1',
        user: 'u',
        agent: 'builtin',
        state: 'idle',
        createdAt: now,
        updatedAt: now,
      }),
    );

    await provisionFabric(nc, { ...base, NATS_PARTITIONS: 3 });
    expect(layoutsToSearch()).toEqual([3, 1]);
    const meta = await (await new Kvm(nc).open(META_BUCKET)).get(META_PARTITIONS_KEY);
    expect(meta!.json<{ partitions: number }[]>().map((h) => h.partitions)).toEqual([1, 3]);
    // The unpartitioned stream no longer overlaps the partitioned ones.
    expect((await jsm.streams.info(EVENTS_STREAM)).config.subjects).toEqual(['fabric.ev.*.*']);
    for (const i of [0, 1, 2])
      expect((await jsm.streams.info(`FABRIC_EVENTS_${i}`)).config.subjects).toEqual([`fabric.ev.*.*.${i}`]);

    // The old session is found in the P = 1 bucket and read from FABRIC_EVENTS.
    const registry = await SessionRegistry.open(nc);
    expect((await registry.get('s_oldsession1'))?.sid).toBe('s_oldsession1');
    expect(eventsStream('s_oldsession1')).toBe(EVENTS_STREAM);
    expect(subjects.events('t1', 's_oldsession1')).toBe('fabric.ev.t1.s_oldsession1');
    expect(await (await JetStreamEventLog.create(nc)).count('t1', 's_oldsession1')).toBe(1);
    // Its state changes stay in its bucket.
    await registry.setState('s_oldsession1', 'running');
    expect((await legacy.get('s_oldsession1'))!.json<{ state: string }>().state).toBe('running');

    // A process with fewer partitions refuses to start: typed, one line, both values, the doc.
    const err = await provisionFabric(nc, { ...base, NATS_PARTITIONS: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionLayoutError);
    expect(String((err as Error).message)).toMatch(
      /^NATS_PARTITIONS=2 is smaller than the 3 partitions recorded in NATS \(fabric_meta\);.*docs\/partitions\.md\)$/,
    );
    expect((err as Error).message).not.toContain('\n');
  });
});
