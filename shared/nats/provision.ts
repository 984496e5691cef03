import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommonConfig } from '../config/common-config.js';
import {
  AGENTS_BUCKET,
  allPartitions,
  DEADLETTER_STREAM,
  DURABLE_STREAMS_STREAM,
  META_BUCKET,
  META_PARTITIONS_KEY,
  partitionCount,
  setPartitionLayout,
  subjects,
  workerConsumerName,
} from './subjects.js';

const NS_PER_MS = 1_000_000;

type ProvisionConfig = Pick<
  CommonConfig,
  | 'NATS_REPLICAS'
  | 'NATS_STORAGE'
  | 'EVENTS_MAX_AGE_SECONDS'
  | 'EVENTS_MAX_BYTES'
  | 'NATS_DUPLICATE_WINDOW_MS'
> &
  Partial<Pick<CommonConfig, 'NATS_PARTITIONS'>>;

/**
 * This process's NATS_PARTITIONS is smaller than the partition count recorded in NATS: its
 * sessions would be looked up in the wrong partitions, so the process refuses to start.
 */
export class PartitionLayoutError extends Error {
  override readonly name = 'PartitionLayoutError';
  constructor(
    readonly configured: number,
    readonly recorded: number,
  ) {
    super(
      `NATS_PARTITIONS=${configured} is smaller than the ${recorded} partitions recorded in NATS (${META_BUCKET}); partitions can only grow: set NATS_PARTITIONS=${recorded} or more (docs/partitions.md)`,
    );
  }
}

/** One entry of the recorded layout history: the partition count and since when (ms). */
export interface LayoutEntry {
  partitions: number;
  since: number;
}

function parseHistory(bytes: Uint8Array | undefined): LayoutEntry[] {
  if (!bytes || bytes.length === 0) return [];
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter(
      (e): e is LayoutEntry =>
        typeof e === 'object' && e !== null && Number.isInteger(e.partitions) && e.partitions >= 1,
    );
  } catch {
    return [];
  }
}

/**
 * Checks NATS_PARTITIONS against the layout history recorded in `fabric_meta` and installs it in
 * this process (subjects.ts): the first process records it, a larger value is appended (growth),
 * a smaller one throws {@link PartitionLayoutError}. Returns the history (oldest first).
 */
export async function ensurePartitionLayout(
  nc: NatsConnection,
  o: { partitions?: number; replicas: number; storage: StorageType },
): Promise<LayoutEntry[]> {
  const wanted = o.partitions ?? partitionCount();
  const kv = await new Kvm(nc).create(META_BUCKET, { replicas: o.replicas, storage: o.storage, history: 5 });
  for (let i = 0; i < 20; i++) {
    const e = await kv.get(META_PARTITIONS_KEY);
    const history = e?.operation === 'PUT' ? parseHistory(e.value) : [];
    const recorded = history.at(-1)?.partitions;
    if (recorded !== undefined && wanted < recorded) throw new PartitionLayoutError(wanted, recorded);
    if (recorded === wanted) {
      setPartitionLayout(
        wanted,
        history.map((h) => h.partitions),
      );
      return history;
    }
    const next = [...history, { partitions: wanted, since: Date.now() }];
    try {
      if (e && e.operation === 'PUT') await kv.update(META_PARTITIONS_KEY, JSON.stringify(next), e.revision);
      else await kv.create(META_PARTITIONS_KEY, JSON.stringify(next));
      setPartitionLayout(
        wanted,
        next.map((h) => h.partitions),
      );
      return next;
    } catch (err) {
      // Another process recorded it first: read again.
      if (!/wrong last sequence|exists/i.test(String(err))) throw err;
    }
  }
  throw new Error('partition layout: too many concurrent updates of fabric_meta');
}

/** Creates a stream, or updates it to the wanted config: safe to run from every process at start. */
async function ensureStream(
  jsm: JetStreamManager,
  cfg: Partial<StreamConfig> & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch (err) {
    if (
      (err as { name?: string }).name !== 'StreamNotFoundError' &&
      !String(err).includes('stream not found')
    )
      throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (addErr) {
      // Another process created it between our info and add: fine.
      if (!String(addErr).includes('already in use')) throw addErr;
    }
  }
}

/**
 * Idempotently provisions what the fabric needs in JetStream:
 * - EVENTS: every session event, kept `EVENTS_MAX_AGE_SECONDS`, republished after storage to
 *   `fabric.live.>` so gateways follow sessions with plain core subscriptions;
 * - JOBS: a work queue (a job is removed once a worker acks it);
 * - DEADLETTER: poison jobs, kept for inspection;
 * - the session registry KV bucket;
 * - the agent pool declarations bucket (docs/agent-pools.md): no TTL, liveness is a heartbeat.
 */
export async function provisionFabric(nc: NatsConnection, config: ProvisionConfig): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const storage = config.NATS_STORAGE === 'memory' ? StorageType.Memory : StorageType.File;
  const replicas = config.NATS_REPLICAS;
  // The server refuses a dedupe window longer than the stream's max age (short retentions in tests).
  const eventsDuplicateWindowMs = Math.min(
    config.NATS_DUPLICATE_WINDOW_MS,
    config.EVENTS_MAX_AGE_SECONDS * 1000,
  );
  await ensurePartitionLayout(nc, {
    ...(config.NATS_PARTITIONS !== undefined ? { partitions: config.NATS_PARTITIONS } : {}),
    replicas,
    storage,
  });
  const kvm = new Kvm(nc);
  // Every partition of every recorded layout (earlier layouts' sessions stay resumable).
  for (const part of allPartitions()) {
    await ensureStream(jsm, {
      name: part.eventsStream,
      subjects: [part.eventsSubjects],
      storage,
      num_replicas: replicas,
      max_age: config.EVENTS_MAX_AGE_SECONDS * 1000 * NS_PER_MS,
      max_bytes: config.EVENTS_MAX_BYTES > 0 ? config.EVENTS_MAX_BYTES : -1,
      discard: DiscardPolicy.Old,
      duplicate_window: eventsDuplicateWindowMs * NS_PER_MS,
      allow_direct: true,
      republish: { src: part.eventsRepublishSrc, dest: subjects.liveRepublishDest },
    });
    await ensureStream(jsm, {
      name: part.jobsStream,
      subjects: [part.jobsSubjects],
      storage,
      num_replicas: replicas,
      retention: RetentionPolicy.Workqueue,
      duplicate_window: config.NATS_DUPLICATE_WINDOW_MS * NS_PER_MS,
    });
    await kvm.create(part.sessionsBucket, {
      replicas,
      storage,
      // The owner record outlives the events by an hour: ownership must still be provable while a
      // turn longer than the retention window runs (records are written on transitions only).
      ttl: (config.EVENTS_MAX_AGE_SECONDS + 3600) * 1000,
      history: 1,
    });
    // Conversation snapshots live as long as the events they fold: a snapshot without its log is
    // useless (a reader would fall back anyway), and one round trip per read needs no history.
    await kvm.create(part.snapshotsBucket, {
      replicas,
      storage,
      ttl: config.EVENTS_MAX_AGE_SECONDS * 1000,
      history: 1,
    });
  }
  await ensureStream(jsm, {
    name: DEADLETTER_STREAM,
    subjects: [subjects.allDead],
    storage,
    num_replicas: replicas,
    max_age: 7 * 24 * 3600 * 1000 * NS_PER_MS,
  });
  // Durable Streams: the ordered command log every gateway replays into its view. No max age: a
  // stream's state is its whole command history (compaction is future work, docs/durable-streams.md).
  await ensureStream(jsm, {
    name: DURABLE_STREAMS_STREAM,
    subjects: [subjects.allDurableStreams],
    storage,
    num_replicas: replicas,
    duplicate_window: config.NATS_DUPLICATE_WINDOW_MS * NS_PER_MS,
    allow_direct: true,
  });
  await kvm.create(AGENTS_BUCKET, { replicas, storage, history: 1 });
}

/**
 * Creates (or updates) the shared durable pull consumer of one agent's worker pool on every JOBS
 * partition; returns its name (the same on each partition's stream).
 */
export async function provisionWorkerConsumer(
  nc: NatsConnection,
  opts: { agent: string; ackWaitMs: number; maxDeliver: number; maxAckPending: number; replicas: number },
): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const name = workerConsumerName(opts.agent);
  const base = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: opts.ackWaitMs * NS_PER_MS,
    // One more delivery than the worker's own limit, so the worker sees the last one and dead-letters it.
    max_deliver: opts.maxDeliver + 1,
    max_ack_pending: opts.maxAckPending,
    num_replicas: opts.replicas,
  };
  for (const part of allPartitions()) {
    const cfg = { ...base, filter_subject: part.jobSubject(opts.agent) };
    try {
      await jsm.consumers.add(part.jobsStream, cfg);
    } catch (err) {
      if (!String(err).includes('already in use') && !String(err).includes('already exists')) throw err;
      await jsm.consumers.update(part.jobsStream, name, cfg);
    }
  }
  return name;
}
