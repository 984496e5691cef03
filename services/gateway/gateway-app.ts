import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../../shared/config/gateway-config.js';
import type { Logger } from '../../shared/logging/logger.js';
import { SnapshotStore } from '../../shared/nats/conversation-snapshots.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { SessionRegistry } from '../../shared/nats/session-registry.js';
import { retryStartupStep } from '../../shared/nats/startup-retry.js';
import { CloseCode, type ErrorBody, errorBody, PROTOCOL_VERSION } from '../../shared/protocol/index.js';
import { createAgentGate } from './agents/create-agent-gate.js';
import { principalOf } from './auth/access-policy.js';
import { createAccessPolicy } from './auth/create-access-policy.js';
import { whoami } from './auth/whoami-route.js';
import { FanoutHub } from './fanout/fanout-hub.js';
import { JetStreamProbe } from './fanout/jetstream-probe.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { agentsRoute, modelsRoute } from './http/agents-routes.js';
import { durableStreamsRoute } from './http/durable-streams/ds-routes.js';
import { durableSessionsRoute } from './http/durable-streams/ds-sessions.js';
import { openDurableStreams } from './http/durable-streams/ds-view.js';
import { healthz, metricsOnClientPort, metricsRoute, readyz } from './http/health-routes.js';
import { HttpStreamSet } from './http/http-session-stream.js';
import { chatCompletionsRoute } from './http/openai-compat-routes.js';
import { responsesRoutes } from './http/responses-routes.js';
import { seedRestRoutes } from './http/seed-rest-routes.js';
import { sessionApiRoutes } from './http/session-api-routes.js';
import { sessionEventsRoute } from './http/sse-routes.js';
import { staticFiles } from './http/static-files.js';
import { createUserSessionLimit } from './limits/user-session-limit.js';
import { ClientConnection, type ConnectionObserver } from './session/client-connection.js';
import { type Principal, SessionService } from './session/session-service.js';
import { SessionStatusReader } from './session/session-status.js';
import { SocketIoDoor } from './socketio/socket-io-door.js';
import type { Connection, HttpRequestInfo } from './transport/connection.js';
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
  const retry = { log };
  const eventLog = await retryStartupStep('open event log', () => JetStreamEventLog.create(d.nc), retry);
  const access = createAccessPolicy(config, log);
  const registry = await retryStartupStep('open session registry', () => SessionRegistry.open(d.nc), retry);
  // Known agents, live workers and queue timeouts (docs/agent-pools.md).
  const agents = await createAgentGate({
    nc: d.nc,
    eventLog,
    registry,
    heartbeatMs: config.AGENT_HEARTBEAT_MS,
    queueTimeoutMs: config.AGENT_QUEUE_TIMEOUT_MS,
    writerId: d.gatewayId,
    log,
  });
  const status = new SessionStatusReader(registry, eventLog, undefined, agents.liveWorkers);
  const snapshots =
    config.CONVERSATION_SNAPSHOTS === 'on'
      ? await retryStartupStep('open snapshot store', () => SnapshotStore.open(d.nc), retry)
      : undefined;
  const sessions = new SessionService(
    d.nc,
    jetstream(d.nc),
    registry,
    eventLog,
    status,
    { maxTurns: config.MAX_TURNS_PER_SESSION, maxInputChars: config.MAX_INPUT_CHARS },
    d.gatewayId,
    await createUserSessionLimit(d.nc, config),
    d.natsConnected,
    agents.gate,
    snapshots,
  );
  const hub = new FanoutHub(
    d.nc,
    eventLog,
    {
      delivered(n, producedAt, tokens, replayed) {
        (replayed ? metrics.eventsReplayed : metrics.eventsLive).inc(n);
        if (tokens > 0) metrics.tokensDelivered.inc(tokens);
        if (producedAt !== undefined) metrics.latency.observe(Math.max(0, Date.now() - producedAt) / 1000);
      },
      paused: () => metrics.backpressurePauses.inc(),
    },
    log,
    config.MAX_BACKPRESSURE_BYTES,
    config.STREAM_RECONNECTION_TIMEOUT,
  );
  // A NATS server cut off from the cluster drops republished events without dropping us: resync then.
  const probe = new JetStreamProbe(d.nc, () => hub.resyncAll(), log);
  probe.start();
  const clients = new Map<Connection<Principal>, ClientConnection>();
  let draining = false;
  metrics.sources.sessions = () => hub.sessionCount;
  const observer: ConnectionObserver = {
    error: (code) => metrics.frameErrors.inc({ code }),
    started: () => metrics.sessionsStarted.inc(),
    resumed: (outcome) => metrics.resumes.inc({ outcome }),
    firstEvent: (s) => metrics.firstToken.observe(s),
  };

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
      // Origin, then the bearer token (header or `bearer.<jwt>` subprotocol): auth/access-policy.ts.
      return access.upgrade(req);
    },
    httpFilter: (req) => access.http(req),
    onRouteError: (err, req) => log.error({ err, method: req.method, path: req.path }, 'http route failed'),
    handlers: {
      onOpen(conn) {
        const cc = new ClientConnection(
          conn,
          hub,
          sessions,
          {
            maxSessionsPerConnection: config.MAX_SESSIONS_PER_CONNECTION,
            maxBackpressureBytes: config.MAX_BACKPRESSURE_BYTES,
            rate: {
              framesPerSecond: config.RATE_LIMIT_FRAMES_PER_SECOND,
              burst: config.RATE_LIMIT_BURST,
              closeAfter: config.RATE_LIMIT_CLOSE_AFTER,
            },
          },
          log.child({ conn: conn.id, tenant: conn.ctx.tenant }),
          observer,
        );
        clients.set(conn, cc);
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
      },
    },
  });

  server.route('get', '/healthz', () => healthz());
  const ready = () => readyz({ natsConnected: d.natsConnected, draining: () => draining });
  server.route('get', '/readyz', ready);
  metrics.sources.sendBufferBytes = () => {
    let buffered = 0;
    for (const conn of clients.keys()) buffered += conn.bufferedAmount();
    return buffered;
  };
  // Metrics are internal: with AUTH_MODE=jwt they leave the client port (PROMETHEUS_METRICS_PORT).
  if (metricsOnClientPort(config)) server.route('get', '/metrics', () => metricsRoute(d.registry));
  server.route('get', '/v1/whoami', whoami);
  const agentRoutes = { agents: agents.directory, principal: principalOf };
  server.route('get', '/v1/agents', agentsRoute(agentRoutes));
  server.route('get', '/v1/models', modelsRoute(agentRoutes));
  // Every /v1/ and /api/ route (streaming ones too) passes the access policy's HTTP filter first:
  // origin, CORS (incl. preflight), then the bearer token; the principal it attached is the caller.
  for (const r of sessionApiRoutes({
    sessions,
    status,
    principal: (req) => principalOf(req) ?? null,
    onError: observer.error,
    log,
  }))
    server.route(r.method, r.pattern, r.handler);
  for (const r of seedRestRoutes({
    status,
    principal: (req) => principalOf(req) ?? null,
    ready,
    localSessions: () => hub.sessionCount,
    lastEvent: async (tenant, sid) => (await eventLog.last(tenant, sid))?.event ?? null,
    onError: observer.error,
    log,
  }))
    server.route(r.method, r.pattern, r.handler);
  // HTTP streaming for clients without WebSockets: SSE with Last-Event-ID resume, and OpenAI-compatible.
  const httpStreams = new HttpStreamSet(config.STREAM_HEARTBEAT_INTERVAL);
  const streaming = {
    hub,
    sessions,
    streams: httpStreams,
    agents: agents.directory,
    principal: (req: HttpRequestInfo) => {
      const p = principalOf(req);
      if (!p) throw new Error('no principal: the HTTP filter did not authenticate this route');
      return p;
    },
  };
  server.stream('get', '/v1/sessions/:sid/events', sessionEventsRoute(streaming));
  server.stream('post', '/v1/chat/completions', chatCompletionsRoute(streaming));
  // Durable Streams (docs/durable-streams.md): general streams on the FABRIC_DS command log.
  const durable = await retryStartupStep(
    'open durable streams',
    () => openDurableStreams(d.nc, d.gatewayId, log),
    retry,
  );
  server.stream(
    'any',
    '/v1/stream/*',
    durableStreamsRoute({
      view: durable,
      principal: streaming.principal,
      longPollMs: config.DURABLE_STREAMS_LONG_POLL_MS,
      registry: d.registry,
    }),
    config.DURABLE_STREAMS_MAX_BODY_BYTES,
  );
  // The fabric's sessions as read-only Durable Streams (JSON mode, offsets map to seq).
  server.stream(
    'any',
    '/v1/ds/sessions/:sid',
    durableSessionsRoute({ ...streaming, longPollMs: config.DURABLE_STREAMS_LONG_POLL_MS }),
  );
  // The seed's Socket.IO API (/socket.io): its clients work unchanged, and can resume.
  const socketIo: SocketIoDoor = new SocketIoDoor({
    hub,
    sessions,
    access,
    agents: new Map(config.SOCKETIO_AGENTS.map((pair) => pair.split('=') as [string, string])),
    admit: (): ErrorBody | null =>
      draining
        ? errorBody('unavailable', 'gateway is draining')
        : clients.size + socketIo.connections >= config.STREAM_MAX_CONNECTIONS
          ? errorBody('overloaded', 'too many connections on this gateway')
          : null,
    maxFrameBytes: config.MAX_FRAME_BYTES,
    pingIntervalMs: config.STREAM_HEARTBEAT_INTERVAL,
    rate: {
      framesPerSecond: config.RATE_LIMIT_FRAMES_PER_SECOND,
      burst: config.RATE_LIMIT_BURST,
      closeAfter: config.RATE_LIMIT_CLOSE_AFTER,
    },
    onError: observer.error,
    onStarted: observer.started,
    log,
  });
  server.attach((app) => socketIo.attach(app));
  metrics.sources.connections = () => clients.size + socketIo.connections;
  const responses = responsesRoutes(streaming);
  server.stream('post', '/v1/responses', responses.create);
  server.stream('get', '/v1/responses/:id', responses.retrieve);
  server.stream('post', '/v1/responses/:id/cancel', responses.cancel);
  server.route('del', '/v1/responses/:id', responses.remove);
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
    const now = Date.now();
    const frame = JSON.stringify({ type: 'heartbeat', ts: now });
    for (const conn of clients.keys()) {
      // An expired credential does not keep a stream open: the client reconnects with a fresh token.
      if (conn.ctx.expiresAt !== undefined && conn.ctx.expiresAt <= now)
        conn.close(CloseCode.tokenExpired, 'token expired');
      else conn.send(frame);
    }
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
      httpStreams.closeAll();
      durable.stop();
      socketIo.close();
      clearInterval(heartbeat);
      agents.close();
      probe.stop();
      server.close();
    },
    close() {
      durable.stop();
      socketIo.close();
      agents.close();
      httpStreams.closeAll();
      clearInterval(heartbeat);
      probe.stop();
      server.close();
    },
  };
}
