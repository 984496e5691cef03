import { z } from 'zod';
import { boolean, csv, logLevel, nonNegativeInt, port, positiveInt } from './fields.js';

/**
 * Settings every process shares: how to reach NATS, how the streams are provisioned, logging
 * and metrics. Each key is the environment variable's name; docs/configuration.md's table
 * documents the same defaults.
 */
export const CommonConfigShape = {
  /** NATS server URL(s), comma separated. */
  NATS_URL: csv('nats://127.0.0.1:4222'),
  /** Optional NATS credentials file (JWT + nkey seed). */
  NATS_CREDS: z.string().optional(),
  /** Optional NATS user name (with NATS_PASSWORD). */
  NATS_USER: z.string().optional(),
  /** Password for NATS_USER. */
  NATS_PASSWORD: z.string().optional(),
  /** Optional NATS authentication token (instead of a user or a creds file). */
  NATS_TOKEN: z.string().optional(),
  /** Replicas for the EVENTS and JOBS streams and the session bucket (3 on a cluster). */
  NATS_REPLICAS: positiveInt(1, 5),
  /**
   * Partitions of the event log, the job queue and the session registry (docs/partitions.md): each
   * is split into this many streams/buckets whose leaders the cluster spreads over its nodes. 1 keeps
   * the unpartitioned names; the 3-node cluster uses 3. May grow on a running fabric, never shrink.
   */
  NATS_PARTITIONS: positiveInt(1, 64),
  /** Stream storage: file (durable, default) or memory. */
  NATS_STORAGE: z.enum(['file', 'memory']).default('file'),
  /** How long a session's events stay resumable (seconds). After that, resume answers `expired`. */
  EVENTS_MAX_AGE_SECONDS: positiveInt(24 * 3600),
  /** Upper bound on the EVENTS stream size (bytes, 0 = unlimited); oldest events go first. */
  EVENTS_MAX_BYTES: nonNegativeInt(0),
  /**
   * Conversation snapshots (docs/conversations.md): `on` keeps each session's folded conversation
   * in the fabric_snapshots bucket so turns and resumes read only the log after it; `off` reads
   * every event (the behaviour before snapshots, kept for the benchmark's comparison).
   */
  CONVERSATION_SNAPSHOTS: z.enum(['on', 'off']).default('on'),
  /** Dedupe window for `Nats-Msg-Id` (ms): retried publishes inside it are stored once. */
  NATS_DUPLICATE_WINDOW_MS: positiveInt(120_000),
  /** Log level: fatal, error, warn, info, debug, trace, silent. */
  STREAM_LOG_LEVEL: logLevel,
  /** Human-readable logs (development only; JSON otherwise). */
  LOG_PRETTY: boolean(false),
  /**
   * Workers heartbeat their agent pools' live keys this often (ms); gateways count a worker live
   * for 3 intervals after its last heartbeat (docs/agent-pools.md). Same value on every process.
   */
  AGENT_HEARTBEAT_MS: positiveInt(5_000),
  /** Port of a separate metrics HTTP listener (0 = none; the gateway also serves /metrics itself). */
  PROMETHEUS_METRICS_PORT: port(0),
} as const;

export const CommonConfig = z.object(CommonConfigShape);
export type CommonConfig = z.infer<typeof CommonConfig>;
