import { z } from 'zod';
import { CommonConfigShape } from './common-config.js';
import { agentMap, nonNegativeInt, port, positiveInt } from './fields.js';
import { checkSecurityConfig, SecurityConfigShape } from './security-config.js';

/** Gateway settings (environment variable names, with the seed's names kept). */
const GatewayConfigShape = z.object({
  ...CommonConfigShape,
  /** Authentication, origins and abuse limits (security-config.ts). */
  ...SecurityConfigShape,
  /** Address the gateway listens on. */
  WEBSOCKET_HOST: z.string().default('127.0.0.1'),
  /** Port the gateway listens on (0 = pick a free port and log it). */
  WEBSOCKET_PORT: port(8080),
  /** Stable id of this gateway in logs and metrics; random when unset. */
  GATEWAY_ID: z.string().optional(),
  /** Maximum concurrent client connections on this gateway (WebSocket and Socket.IO together). */
  STREAM_MAX_CONNECTIONS: positiveInt(20_000),
  /** Server heartbeat interval (ms); clients treat 2.5x of silence as a dead link. */
  STREAM_HEARTBEAT_INTERVAL: positiveInt(15_000),
  /** How long a session's upstream subscription outlives its last client on this gateway (ms), so a client that reconnects here finds it ready. */
  STREAM_RECONNECTION_TIMEOUT: nonNegativeInt(30_000),
  /** Largest client frame accepted (bytes); larger frames close the connection with 1009. */
  MAX_FRAME_BYTES: positiveInt(256 * 1024),
  /** Sessions one connection may follow at once. */
  MAX_SESSIONS_PER_CONNECTION: positiveInt(100),
  /** Bytes buffered for a slow client before the gateway stops pulling its sessions. */
  MAX_BACKPRESSURE_BYTES: positiveInt(256 * 1024),
  /** Drain time on SIGTERM: clients get `goaway` and this long to move (ms). */
  DRAIN_TIMEOUT_MS: nonNegativeInt(5_000),
  /**
   * Conversation turns one session may have (a `message` beyond it gets `limit_exceeded`). 500:
   * with conversation snapshots a turn's cost no longer grows with the log (`npm run
   * bench:conversation`), and 500 turns of typical answers keep a session's snapshot well under
   * NATS's 1 MB message limit (docs/conversations.md).
   */
  MAX_TURNS_PER_SESSION: positiveInt(500),
  /**
   * The seed's Socket.IO `agent_type` values and the fabric agent each one starts, as
   * `type=agent` pairs separated by commas; any other `agent_type` is refused.
   */
  SOCKETIO_AGENTS: agentMap('assistant=builtin,user_proxy=builtin'),
  /**
   * A turn queued for an agent with no live worker ends with a retryable `queue_timeout` error
   * after this many ms if no worker takes it (0 = wait for ever; docs/agent-pools.md).
   */
  AGENT_QUEUE_TIMEOUT_MS: nonNegativeInt(60_000),
  /**
   * Serve `/metrics` on the client port too: `auto` = yes with AUTH_MODE=dev, no with
   * AUTH_MODE=jwt (metrics are internal: scrape PROMETHEUS_METRICS_PORT, which is not exposed to clients).
   */
  METRICS_ON_CLIENT_PORT: z.enum(['auto', 'true', 'false']).default('auto'),
  /** Directory served as static files (examples and the client bundle). */
  STATIC_DIR: z.string().optional(),
  /** Largest Durable Streams append or create body (bytes); larger ones get 413. Stays below NATS max_payload (1 MiB by default). */
  DURABLE_STREAMS_MAX_BODY_BYTES: positiveInt(1_000_000),
  /** How long a Durable Streams long-poll (and an idle SSE stream between keep-alives) waits for data (ms). */
  DURABLE_STREAMS_LONG_POLL_MS: positiveInt(15_000),
});
/** Refuses insecure combinations at start (e.g. anonymous dev mode on a public address). */
export const GatewayConfig = GatewayConfigShape.superRefine(checkSecurityConfig);
export type GatewayConfig = z.infer<typeof GatewayConfig>;
