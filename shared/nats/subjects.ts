/**
 * Every NATS subject, stream and bucket name of the fabric. Subjects are built only here,
 * never by string concatenation elsewhere, so the namespace can be read in one place:
 *
 *   fabric.ev.<tenant>.<sid>     session events (EVENTS stream)
 *   fabric.live.<tenant>.<sid>   the same events, republished by the server after they are stored
 *   fabric.jobs.<agent>          jobs (JOBS work-queue stream, one consumer per agent pool)
 *   fabric.ctl.<sid>             control messages to the worker running a session (core NATS)
 *   fabric.ds.<tenant>           Durable Streams commands (create, append, close, delete) of a tenant
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

export const subjects = {
  events: (tenant: string, sid: string) => `fabric.ev.${tenant}.${sid}`,
  live: (tenant: string, sid: string) => `fabric.live.${tenant}.${sid}`,
  job: (agent: string) => `fabric.jobs.${agent}`,
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
