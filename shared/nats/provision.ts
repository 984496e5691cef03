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
  DEADLETTER_STREAM,
  DURABLE_STREAMS_STREAM,
  EVENTS_STREAM,
  JOBS_STREAM,
  SESSIONS_BUCKET,
  SNAPSHOTS_BUCKET,
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
>;

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
  await ensureStream(jsm, {
    name: EVENTS_STREAM,
    subjects: [subjects.allEvents],
    storage,
    num_replicas: replicas,
    max_age: config.EVENTS_MAX_AGE_SECONDS * 1000 * NS_PER_MS,
    max_bytes: config.EVENTS_MAX_BYTES > 0 ? config.EVENTS_MAX_BYTES : -1,
    discard: DiscardPolicy.Old,
    duplicate_window: eventsDuplicateWindowMs * NS_PER_MS,
    allow_direct: true,
    republish: { src: subjects.eventsRepublishSrc, dest: subjects.liveRepublishDest },
  });
  await ensureStream(jsm, {
    name: JOBS_STREAM,
    subjects: [subjects.allJobs],
    storage,
    num_replicas: replicas,
    retention: RetentionPolicy.Workqueue,
    duplicate_window: config.NATS_DUPLICATE_WINDOW_MS * NS_PER_MS,
  });
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
  const kvm = new Kvm(nc);
  await kvm.create(SESSIONS_BUCKET, {
    replicas,
    storage,
    // The owner record outlives the events by an hour: ownership must still be provable while a
    // turn longer than the retention window runs (records are written on transitions only).
    ttl: (config.EVENTS_MAX_AGE_SECONDS + 3600) * 1000,
    history: 1,
  });
  await kvm.create(AGENTS_BUCKET, { replicas, storage, history: 1 });
  // Conversation snapshots live as long as the events they fold: a snapshot without its log is
  // useless (a reader would fall back anyway), and one round trip per read needs no history.
  await kvm.create(SNAPSHOTS_BUCKET, {
    replicas,
    storage,
    ttl: config.EVENTS_MAX_AGE_SECONDS * 1000,
    history: 1,
  });
}

/** Creates (or updates) the shared durable pull consumer of one agent's worker pool. */
export async function provisionWorkerConsumer(
  nc: NatsConnection,
  opts: { agent: string; ackWaitMs: number; maxDeliver: number; maxAckPending: number; replicas: number },
): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const name = workerConsumerName(opts.agent);
  const cfg = {
    durable_name: name,
    filter_subject: subjects.job(opts.agent),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: opts.ackWaitMs * NS_PER_MS,
    // One more delivery than the worker's own limit, so the worker sees the last one and dead-letters it.
    max_deliver: opts.maxDeliver + 1,
    max_ack_pending: opts.maxAckPending,
    num_replicas: opts.replicas,
  };
  try {
    await jsm.consumers.add(JOBS_STREAM, cfg);
  } catch (err) {
    if (!String(err).includes('already in use') && !String(err).includes('already exists')) throw err;
    await jsm.consumers.update(JOBS_STREAM, name, cfg);
  }
  return name;
}
