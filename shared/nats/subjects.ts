/**
 * Every NATS subject, stream and bucket name of the fabric. Subjects are built only here,
 * never by string concatenation elsewhere, so the namespace can be read in one place:
 *
 *   fabric.ev.<tenant>.<sid>     session events (EVENTS stream)
 *   fabric.live.<tenant>.<sid>   the same events, republished by the server after they are stored
 *   fabric.jobs.<agent>          jobs (JOBS work-queue stream, one consumer per agent pool)
 *   fabric.ctl.<sid>             control messages to the worker running a session (core NATS)
 *   fabric.ds.<tenant>           Durable Streams commands (create, append, close, delete) of a tenant
 *
 * Partitions (docs/partitions.md): with NATS_PARTITIONS = P > 1 the events, jobs and the session
 * registry are split into P streams/buckets; a session's partition is {@link partitionOf} its sid.
 * Partition i of any layout uses the same names, so growing P only adds partitions:
 *
 *   FABRIC_EVENTS_<i>   fabric.ev.<tenant>.<sid>.<i>   (still republished to fabric.live.<tenant>.<sid>)
 *   FABRIC_JOBS_<i>     fabric.jobs.<agent>.<i>        (consumer workers-<agent> on each)
 *   fabric_sessions_<i>, fabric_snapshots_<i>
 *
 * With P = 1 the names are the unpartitioned ones below (FABRIC_EVENTS, fabric.ev.<tenant>.<sid>, ...).
 */
export const EVENTS_STREAM = 'FABRIC_EVENTS';
export const JOBS_STREAM = 'FABRIC_JOBS';
export const DEADLETTER_STREAM = 'FABRIC_DEADLETTER';
export const SESSIONS_BUCKET = 'fabric_sessions';
/** Per-user index of active sessions (MAX_SESSIONS_PER_USER across gateways). */
export const USER_SESSIONS_BUCKET = 'fabric_user_sessions';
/**
 * Folded conversations (docs/conversations.md), one entry per session keyed by
 * {@link snapshotKey}: one round trip reads a session's state up to a seq, the log's tail does the rest.
 */
export const SNAPSHOTS_BUCKET = 'fabric_snapshots';

/** KV key of a session's conversation snapshot (tenant and sid are both subject-safe tokens). */
export function snapshotKey(tenant: string, sid: string): string {
  return `${tenant}.${sid}`;
}
/** The Durable Streams command log: every gateway applies it in order (services/gateway/http/durable-streams/). */
export const DURABLE_STREAMS_STREAM = 'FABRIC_DS';
/**
 * Agent pool declarations (docs/agent-pools.md): `pool.<agent>` (the agent exists) and
 * `live.<agent>.<workerId>` (a worker serves it now, heartbeated). Same name in the Python bridge.
 */
export const AGENTS_BUCKET = 'FABRIC_AGENTS';

/** Keys of the AGENTS_BUCKET (agent names and worker ids are valid KV key tokens by their schemas). */
export const agentKeys = {
  pool: (agent: string) => `pool.${agent}`,
  live: (agent: string, workerId: string) => `live.${agent}.${workerId}`,
  allPools: 'pool.*',
  allLive: 'live.>',
} as const;

// ---------------------------------------------------------------------------------------------
// Partitions. The process's partition count comes from NATS_PARTITIONS (read here so every
// process, script and test helper agrees without passing it around); provisioning checks it
// against the layout recorded in NATS (fabric_meta) and installs the recorded history.

/** KV bucket of fabric-wide facts (the partition layout history, key {@link META_PARTITIONS_KEY}). */
export const META_BUCKET = 'fabric_meta';
export const META_PARTITIONS_KEY = 'partitions';
/** Upper bound on NATS_PARTITIONS (also the config schema's). */
export const MAX_PARTITIONS = 64;

function envPartitions(): number {
  const raw = process.env.NATS_PARTITIONS;
  if (raw === undefined || raw.trim() === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS)
    throw new Error(`NATS_PARTITIONS must be an integer from 1 to ${MAX_PARTITIONS} (got "${raw}")`);
  return n;
}

let currentPartitions = envPartitions();
/** Partition counts of earlier layouts still looked up (oldest first; see docs/partitions.md). */
let earlierPartitions: number[] = [];
/** Sessions found under an earlier layout: sid -> that layout's partition count. */
const earlierLayoutOf = new Map<string, number>();
const EARLIER_LAYOUT_MEMO_MAX = 1_000_000;

/** The partition count new sessions are created under (NATS_PARTITIONS). */
export function partitionCount(): number {
  return currentPartitions;
}

/**
 * Sets this process's layout: the current partition count and the earlier ones recorded in
 * fabric_meta whose sessions may still exist. Called by provisioning (and tests).
 */
export function setPartitionLayout(current: number, earlier: number[] = []): void {
  if (!Number.isInteger(current) || current < 1 || current > MAX_PARTITIONS)
    throw new Error(`partition count must be an integer from 1 to ${MAX_PARTITIONS}`);
  currentPartitions = current;
  earlierPartitions = [...new Set(earlier.filter((p) => p !== current))];
  earlierLayoutOf.clear();
}

/**
 * Adds layouts recorded in fabric_meta after this process started (P grew meanwhile): their
 * sessions are then found too. Returns whether one was new.
 */
export function addKnownLayouts(recorded: number[]): boolean {
  const fresh = recorded.filter((p) => p !== currentPartitions && !earlierPartitions.includes(p));
  if (fresh.length === 0) return false;
  earlierPartitions = [...earlierPartitions, ...new Set(fresh)];
  return true;
}

/** Every partition count a session may live under, current first. */
export function layoutsToSearch(): number[] {
  return [currentPartitions, ...[...earlierPartitions].reverse()];
}

/** Records that `sid` lives under an earlier layout (found there by a registry lookup). */
export function noteSessionLayout(sid: string, partitions: number): void {
  if (partitions === currentPartitions) {
    earlierLayoutOf.delete(sid);
    return;
  }
  if (earlierLayoutOf.size >= EARLIER_LAYOUT_MEMO_MAX) earlierLayoutOf.clear();
  earlierLayoutOf.set(sid, partitions);
}

/** The partition count the session lives under (the current one unless a lookup found it earlier). */
export function sessionPartitions(sid: string): number {
  return earlierLayoutOf.get(sid) ?? currentPartitions;
}

/** FNV-1a 32-bit hash of the sid's UTF-8 bytes (same in the Python bridge's subjects.py). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The partition of a session: FNV-1a 32 of its sid mod the partition count it lives under. */
export function partitionOf(sid: string, partitions = sessionPartitions(sid)): number {
  return partitions === 1 ? 0 : fnv1a32(sid) % partitions;
}

/** Name of partition `i` of a resource whose unpartitioned name is `base` (P = 1 keeps `base`). */
function partitioned(base: string, partitions: number, i: number): string {
  return partitions === 1 ? base : `${base}_${i}`;
}

/** EVENTS stream holding a session's events. */
export function eventsStream(sid: string): string {
  const p = sessionPartitions(sid);
  return partitioned(EVENTS_STREAM, p, partitionOf(sid, p));
}
/** JOBS stream a session's jobs go to (its partition under the current layout). */
export function jobsStream(sid: string): string {
  const p = currentPartitions;
  return partitioned(JOBS_STREAM, p, partitionOf(sid, p));
}
/** Session registry bucket of a sid under layout `partitions` (default: the session's own). */
export function sessionsBucket(sid: string, partitions = sessionPartitions(sid)): string {
  return partitioned(SESSIONS_BUCKET, partitions, partitionOf(sid, partitions));
}
/** Conversation snapshot bucket of a session. */
export function snapshotsBucket(sid: string): string {
  const p = sessionPartitions(sid);
  return partitioned(SNAPSHOTS_BUCKET, p, partitionOf(sid, p));
}

/** Name of the stream behind a KV bucket. */
export function kvStreamName(bucket: string): string {
  return `KV_${bucket}`;
}

/** One partition of a layout: its index and the names of everything partitioned. */
export interface PartitionNames {
  partitions: number;
  index: number;
  eventsStream: string;
  eventsSubjects: string;
  eventsRepublishSrc: string;
  jobsStream: string;
  jobsSubjects: string;
  /** The jobs subject of `agent` in this partition (a worker consumer's filter). */
  jobSubject: (agent: string) => string;
  sessionsBucket: string;
  snapshotsBucket: string;
}

/** The names of every partition of a layout of `partitions` partitions. */
export function partitionNames(partitions = currentPartitions): PartitionNames[] {
  return Array.from({ length: partitions }, (_, i) => ({
    partitions,
    index: i,
    eventsStream: partitioned(EVENTS_STREAM, partitions, i),
    eventsSubjects: partitions === 1 ? 'fabric.ev.*.*' : `fabric.ev.*.*.${i}`,
    eventsRepublishSrc: partitions === 1 ? 'fabric.ev.*.*' : `fabric.ev.*.*.${i}`,
    jobsStream: partitioned(JOBS_STREAM, partitions, i),
    jobsSubjects: partitions === 1 ? 'fabric.jobs.*' : `fabric.jobs.*.${i}`,
    jobSubject: (agent: string) => (partitions === 1 ? `fabric.jobs.${agent}` : `fabric.jobs.${agent}.${i}`),
    sessionsBucket: partitioned(SESSIONS_BUCKET, partitions, i),
    snapshotsBucket: partitioned(SNAPSHOTS_BUCKET, partitions, i),
  }));
}

/**
 * Every distinct partition of every layout this process knows (current and earlier): what
 * provisioning creates, workers pull jobs from and the session list reads. Partition i of two
 * layouts P, Q > 1 is the same resource, so the union is small.
 */
export function allPartitions(): PartitionNames[] {
  const seen = new Map<string, PartitionNames>();
  for (const p of [...earlierPartitions, currentPartitions])
    for (const n of partitionNames(p)) if (!seen.has(n.eventsStream)) seen.set(n.eventsStream, n);
  return [...seen.values()];
}

export const subjects = {
  /** Subject of a session's events: `fabric.ev.<tenant>.<sid>`, `.<partition>` appended when P > 1. */
  events: (tenant: string, sid: string) => {
    const p = sessionPartitions(sid);
    return p === 1 ? `fabric.ev.${tenant}.${sid}` : `fabric.ev.${tenant}.${sid}.${partitionOf(sid, p)}`;
  },
  live: (tenant: string, sid: string) => `fabric.live.${tenant}.${sid}`,
  /**
   * Subject of a job for `agent`: `fabric.jobs.<agent>`, `.<partition>` appended when P > 1 (the
   * session's partition under the current layout; partition 0 when no sid is given).
   */
  job: (agent: string, sid?: string) => {
    const p = currentPartitions;
    return p === 1 ? `fabric.jobs.${agent}` : `fabric.jobs.${agent}.${sid ? partitionOf(sid, p) : 0}`;
  },
  control: (sid: string) => `fabric.ctl.${sid}`,
  deadLetter: (agent: string) => `fabric.dead.${agent}`,
  durableStreams: (tenant: string) => `fabric.ds.${tenant}`,
  allDurableStreams: 'fabric.ds.>',
  allEvents: 'fabric.ev.>',
  allLive: 'fabric.live.>',
  allJobs: 'fabric.jobs.>',
  allDead: 'fabric.dead.>',
  /** RePublish destination pattern matching `allEvents` (tokens mapped one to one). */
  liveRepublishDest: 'fabric.live.{{wildcard(1)}}.{{wildcard(2)}}',
  eventsRepublishSrc: 'fabric.ev.*.*',
} as const;

/** Durable consumer name of the worker pool serving an agent. */
export function workerConsumerName(agent: string): string {
  return `workers-${agent}`;
}

/**
 * `Nats-Msg-Id` of a session event: `<sid>:<seq>:<writer>`. A retried publish of the same
 * event by the same writer is stored once. The writer is part of the id because on a clustered
 * stream the server checks duplicates BEFORE `Nats-Expected-Last-Subject-Sequence`: with a bare
 * `<sid>:<seq>`, a zombie writer's event k would be answered "duplicate, stored" with the new
 * writer's event k, so the zombie would never be fenced and would later write after it.
 */
export function eventMsgId(sid: string, seq: number, writer: string): string {
  return `${sid}:${seq}:${writer}`;
}

/** Reads the event seq back from a `Nats-Msg-Id` (the gateway avoids parsing event JSON). */
export function seqFromMsgId(msgId: string | undefined): number | undefined {
  if (!msgId) return undefined;
  // Session ids never contain ':', so the seq is the second field whatever the writer id holds.
  const n = Number(msgId.split(':')[1]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** `Nats-Msg-Id` of a job: a retried `start` queues the turn once. */
export function jobMsgId(sid: string, turn: number): string {
  return `job:${sid}:${turn}`;
}

/** Header carrying the event's seq so that consumers need not parse JSON. */
export const SEQ_HEADER = 'Sf-Seq';
/** Header naming the writer (job attempt) of an event, to tell our own retried publish from another writer's. */
export const WRITER_HEADER = 'Sf-Writer';
/** Header carrying the producer's timestamp (ms), so gateways measure latency without parsing JSON. */
export const TS_HEADER = 'Sf-Ts';
/** Header on token events: how many model tokens the (coalesced) event holds, for delivery metrics. */
export const TOKENS_HEADER = 'Sf-Tokens';
