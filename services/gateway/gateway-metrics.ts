import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../shared/metrics/fast-metrics.js';

/** Latency buckets (seconds) shared by the delivery histograms: the target is p99 < 200 ms. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5];

/** Live figures the gauges read at scrape time (set once the app is wired; 0 before). */
export interface GatewayGaugeSources {
  connections: () => number;
  sessions: () => number;
  /** Bytes queued in client sockets, summed at scrape time (on whichever port serves /metrics). */
  sendBufferBytes: () => number;
}

/**
 * The gateway's metrics (streamfabric_gateway_<thing>_<unit|total>; bounded labels, never a
 * session id). Per-event metrics (`eventsLive`, `eventsReplayed`, `tokensDelivered`, `latency`)
 * are fast-metrics: an event costs a few additions and no allocation (bench: npm run bench:metrics).
 */
export function createGatewayMetrics(registry: Registry) {
  const sources: GatewayGaugeSources = {
    connections: () => 0,
    sessions: () => 0,
    sendBufferBytes: () => 0,
  };
  const eventsLive = new FastCounter();
  const eventsReplayed = new FastCounter();
  const tokensDelivered = new FastCounter();
  const eventsDelivered = new Counter({
    name: 'streamfabric_gateway_events_delivered_total',
    help: 'Session events sent to clients, by source: live (republished) or log (catch-up reads)',
    labelNames: ['source'] as const,
    registers: [registry],
    collect() {
      eventsLive.flushInto(this, { source: 'live' });
      eventsReplayed.flushInto(this, { source: 'log' });
    },
  });
  const resumes = new Counter({
    name: 'streamfabric_gateway_resumes_total',
    help: 'resume requests, by outcome (ok or the error code)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    sources,
    connections: new Gauge({
      name: 'streamfabric_gateway_connections',
      help: 'Open client connections (WebSocket and Socket.IO)',
      registers: [registry],
      collect() {
        this.set(sources.connections());
      },
    }),
    connectionsTotal: new Counter({
      name: 'streamfabric_gateway_connections_total',
      help: 'WebSocket connections accepted',
      registers: [registry],
    }),
    sessions: new Gauge({
      name: 'streamfabric_gateway_active_sessions',
      help: 'Sessions with at least one subscriber on this gateway',
      registers: [registry],
      collect() {
        this.set(sources.sessions());
      },
    }),
    sessionsStarted: new Counter({
      name: 'streamfabric_gateway_sessions_started_total',
      help: 'Sessions started (start accepted and job queued)',
      registers: [registry],
    }),
    eventsDelivered,
    eventsLive,
    eventsReplayed,
    tokensDelivered,
    tokensDeliveredTotal: new Counter({
      name: 'streamfabric_gateway_tokens_delivered_total',
      help: 'Model tokens sent to clients (a coalesced token event counts its tokens)',
      registers: [registry],
      collect() {
        tokensDelivered.flushInto(this);
      },
    }),
    latency: new FastHistogram(
      'streamfabric_gateway_event_latency_seconds',
      'Producer timestamp (Sf-Ts) to send-to-client, for live events',
      LATENCY_BUCKETS,
      registry,
    ),
    firstToken: new Histogram({
      name: 'streamfabric_gateway_time_to_first_token_seconds',
      help: 'start request received to the first session event (normally a token) sent to that client',
      buckets: [...LATENCY_BUCKETS, 10, 30],
      registers: [registry],
    }),
    resumes,
    backpressurePauses: new Counter({
      name: 'streamfabric_gateway_backpressure_pauses_total',
      help: 'Times a slow client made a session pause (it continues from the log)',
      registers: [registry],
    }),
    sendBufferBytes: new Gauge({
      name: 'streamfabric_gateway_send_buffer_bytes',
      help: 'Bytes queued in client sockets (per connection at most MAX_BACKPRESSURE_BYTES plus one event)',
      registers: [registry],
      collect() {
        this.set(sources.sendBufferBytes());
      },
    }),
    frameErrors: new Counter({
      name: 'streamfabric_gateway_errors_total',
      help: 'Requests answered with a typed error (WebSocket frames and HTTP API), by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    natsStatus: new Counter({
      name: 'streamfabric_gateway_nats_status_events_total',
      help: 'NATS connection status changes by type (disconnect, reconnect, ...)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
