import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The gateway's metrics (streamfabric_gateway_<thing>_<unit|total>; no session ids in labels). */
export function createGatewayMetrics(registry: Registry) {
  return {
    connections: new Gauge({
      name: 'streamfabric_gateway_connections',
      help: 'Open WebSocket connections',
      registers: [registry],
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
    }),
    eventsDelivered: new Counter({
      name: 'streamfabric_gateway_events_delivered_total',
      help: 'Session events sent to clients',
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'streamfabric_gateway_event_latency_seconds',
      help: 'Producer timestamp to send-to-client, for live events',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5],
      registers: [registry],
    }),
    backpressurePauses: new Counter({
      name: 'streamfabric_gateway_backpressure_pauses_total',
      help: 'Times a slow client made a session pause (it continues from the log)',
      registers: [registry],
    }),
    sendBufferBytes: new Gauge({
      name: 'streamfabric_gateway_send_buffer_bytes',
      help: 'Bytes queued in client sockets (per connection at most MAX_BACKPRESSURE_BYTES plus one event)',
      registers: [registry],
    }),
    frameErrors: new Counter({
      name: 'streamfabric_gateway_frame_errors_total',
      help: 'Client frames answered with an error, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    natsStatus: new Counter({
      name: 'streamfabric_gateway_nats_status_events_total',
      help: 'NATS connection status changes (disconnect, reconnect, ...)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
