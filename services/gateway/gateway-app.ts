import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../../shared/config/gateway-config.js';
import type { Logger } from '../../shared/logging/logger.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { SessionRegistry } from '../../shared/nats/session-registry.js';
import { CloseCode, PROTOCOL_VERSION, WS_SUBPROTOCOL } from '../../shared/protocol/index.js';
import { FanoutHub } from './fanout/fanout-hub.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { healthz, metricsRoute, readyz } from './http/health-routes.js';
import { staticFiles } from './http/static-files.js';
import { ClientConnection } from './session/client-connection.js';
import { type Principal, SessionService } from './session/session-service.js';
import type { Connection } from './transport/connection.js';
import { UwsServer } from './transport/uws-server.js';

export interface GatewayDeps {
  config: GatewayConfig;
  gatewayId: string;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  metrics: GatewayMetrics;
  staticRoot: string;
  natsConnected: () => boolean;
}

/** Wires the gateway: transport, protocol state per connection, fan-out, HTTP routes. */
export async function createGateway(d: GatewayDeps) {
  const { config, log, metrics } = d;
  const eventLog = await JetStreamEventLog.create(d.nc);
  const sessions = new SessionService(
    d.nc,
    jetstream(d.nc),
    await SessionRegistry.open(d.nc),
    eventLog,
    d.natsConnected,
  );
  const hub = new FanoutHub(
    d.nc,
    eventLog,
    {
      delivered(n, producedAt) {
        metrics.eventsDelivered.inc(n);
        if (producedAt !== undefined) metrics.latency.observe(Math.max(0, Date.now() - producedAt) / 1000);
      },
      paused: () => metrics.backpressurePauses.inc(),
    },
    log,
    config.MAX_BACKPRESSURE_BYTES,
  );
  const clients = new Map<Connection<Principal>, ClientConnection>();
  let draining = false;

  const welcome = JSON.stringify({
    type: 'welcome',
    protocol: PROTOCOL_VERSION,
    gateway: d.gatewayId,
    heartbeatMs: config.STREAM_HEARTBEAT_INTERVAL,
  });
  const server = new UwsServer<Principal>({
    host: config.WEBSOCKET_HOST,
    port: config.WEBSOCKET_PORT,
    wsPath: '/v1/ws',
    maxPayloadBytes: config.MAX_FRAME_BYTES,
    highWaterBytes: config.MAX_BACKPRESSURE_BYTES,
    idleTimeoutSeconds: Math.max(8, Math.ceil((config.STREAM_HEARTBEAT_INTERVAL * 2.5) / 1000)),
    upgrade: (req) => {
      if (draining)
        return {
          ok: false,
          status: 503,
          body: '{"error":{"code":"unavailable","message":"gateway is draining","retryable":true}}',
        };
      if (clients.size >= config.STREAM_MAX_CONNECTIONS) {
        return {
          ok: false,
          status: 503,
          body: '{"error":{"code":"overloaded","message":"too many connections on this gateway","retryable":true}}',
        };
      }
      // Authentication arrives with the security issue; until then every client is the public tenant.
      // Echo our subprotocol only when offered: a server must not pick one the client did not ask for.
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
      return {
        ok: true,
        ctx: { tenant: 'public', user: 'anonymous' },
        protocol: offered.includes(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : '',
      };
    },
    handlers: {
      onOpen(conn) {
        const cc = new ClientConnection(
          conn,
          hub,
          sessions,
          {
            maxSessionsPerConnection: config.MAX_SESSIONS_PER_CONNECTION,
            maxBackpressureBytes: config.MAX_BACKPRESSURE_BYTES,
          },
          log.child({ conn: conn.id }),
          (code) => metrics.frameErrors.inc({ code }),
        );
        clients.set(conn, cc);
        metrics.connections.set(clients.size);
        metrics.connectionsTotal.inc();
        conn.send(welcome);
      },
      onMessage(conn, data, isBinary) {
        clients.get(conn)?.handle(data, isBinary);
      },
      onDrain(conn) {
        clients.get(conn)?.drained();
      },
      onClose(conn) {
        clients.get(conn)?.dispose();
        clients.delete(conn);
        metrics.connections.set(clients.size);
        metrics.sessions.set(hub.sessionCount);
      },
    },
  });

  server.route('get', '/healthz', () => healthz());
  server.route('get', '/readyz', () => readyz({ natsConnected: d.natsConnected, draining: () => draining }));
  server.route('get', '/metrics', () => {
    metrics.sessions.set(hub.sessionCount);
    let buffered = 0;
    for (const conn of clients.keys()) buffered += conn.bufferedAmount();
    metrics.sendBufferBytes.set(buffered);
    return metricsRoute(d.registry);
  });
  server.route('get', '/examples/*', staticFiles('/examples', `${d.staticRoot}/examples`));
  server.route('get', '/client/*', staticFiles('/client', `${d.staticRoot}/dist`));
  server.route('get', '/', () => ({ status: 302, headers: { location: '/examples/basic.html' } }));
  server.route('any', '/*', () => ({
    status: 404,
    headers: { 'content-type': 'application/json' },
    body: '{"error":{"code":"not_found","message":"no such route","retryable":false}}',
  }));

  // One shared timer for every connection's heartbeat: encoded once per tick.
  const heartbeat = setInterval(() => {
    const frame = JSON.stringify({ type: 'heartbeat', ts: Date.now() });
    for (const conn of clients.keys()) conn.send(frame);
  }, config.STREAM_HEARTBEAT_INTERVAL);

  return {
    server,
    async listen() {
      return server.listen();
    },
    /** SIGTERM: tell clients to move, stop accepting, wait for them to leave, close the rest. */
    async drain(timeoutMs: number) {
      draining = true;
      server.stopListening();
      const goaway = JSON.stringify({ type: 'goaway', reason: 'gateway draining', reconnectAfterMs: 0 });
      for (const conn of clients.keys()) conn.send(goaway);
      const deadline = Date.now() + timeoutMs;
      while (clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const conn of clients.keys()) conn.close(CloseCode.reconnect, 'gateway draining');
      clearInterval(heartbeat);
      server.close();
    },
    close() {
      clearInterval(heartbeat);
      server.close();
    },
  };
}
