import { Server, type Socket } from 'socket.io';
import type { Logger } from '../../../shared/logging/logger.js';
import { type ErrorBody, errorBody, isTerminal, SessionEvent } from '../../../shared/protocol/index.js';
import { ResumeStreamRequest, StartStreamRequest } from '../../../shared/protocol/seed-socket-io.js';
import type { EventSink } from '../fanout/event-sink.js';
import type { FanoutHub } from '../fanout/fanout-hub.js';
import type { SessionSubscription } from '../fanout/session-subscription.js';
import { FrameRateGuard, type FrameRateLimits } from '../limits/frame-rate-guard.js';
import type { Principal, SessionService } from '../session/session-service.js';
import type { HttpFilterResult, HttpRequestInfo, UpgradeDecision } from '../transport/connection.js';
import { type SeedStreamCounters, seedEmits } from './seed-events.js';
import { invalid, optionsOf, reply } from './seed-requests.js';

/** The gateway's entry checks, as the access policy offers them (auth/access-policy.ts). */
export interface DoorAccess {
  upgrade(req: HttpRequestInfo): Promise<UpgradeDecision<Principal>>;
  http(req: HttpRequestInfo): Promise<HttpFilterResult>;
}

export interface SocketIoDoorDeps {
  hub: FanoutHub;
  sessions: SessionService;
  access: DoorAccess;
  /** The seed's `agent_type` -> fabric agent (SOCKETIO_AGENTS). */
  agents: ReadonlyMap<string, string>;
  /** Refuses a new connection (draining, too many connections) or null to admit it. */
  admit(): ErrorBody | null;
  maxFrameBytes: number;
  pingIntervalMs: number;
  rate: FrameRateLimits;
  /** Counts typed errors (the gateway's errors metric). */
  onError(code: string): void;
  /** Counts accepted starts (the gateway's sessions-started metric). */
  onStarted(): void;
  log: Logger;
}

/** Engine.io packets queued for a socket before its session pauses (the log is the buffer). */
const HIGH_WATER_PACKETS = 512;
/** Requests of one socket waiting for the one running: beyond this they are refused. */
const MAX_QUEUED = 16;
const decoder = new TextDecoder();

/** The stream one socket follows: the seed had one per connection, and so does this door. */
interface Followed {
  sid: string;
  startTime: number;
  sub?: SessionSubscription;
  counters: SeedStreamCounters;
  /** Last position emitted to this socket (the seq of the last event). */
  delivered: number;
  ended: boolean;
}

/**
 * The seed's Socket.IO API on the gateway (path `/socket.io`): `start_stream`, `stop_stream`,
 * `get_metrics`, and `resume_stream` (fabric), answered with the seed's `connected`,
 * `stream_started`, `stream_event`, `stream_completed`, `stream_error`, `stream_stopped`,
 * `metrics` and `error` events. An adapter over SessionService and FanoutHub: sessions live in
 * NATS as for every other door, so a stream started here resumes on any gateway and any door.
 */
export class SocketIoDoor {
  readonly io: Server;

  constructor(private readonly d: SocketIoDoorDeps) {
    this.io = new Server({
      maxHttpBufferSize: d.maxFrameBytes,
      pingInterval: d.pingIntervalMs,
      // The origin is checked in allowRequest (CORS_ORIGINS); allowed origins are echoed back.
      cors: { origin: true },
      allowRequest: (req, cb) => {
        void this.originAllowed(req.headers as Record<string, string>)
          .catch(() => false)
          .then((ok) => cb(ok ? null : 'origin not allowed (CORS_ORIGINS)', ok));
      },
    });
    this.io.use((socket, next) => {
      void this.authenticate(socket)
        .catch((err: unknown) => {
          d.log.error({ err }, 'socket.io authentication failed');
          return errorBody('unavailable', 'authentication is unavailable; retry');
        })
        .then((error) => {
          if (!error) return next();
          d.onError(error.code);
          next(Object.assign(new Error(error.message), { data: error }));
        });
    });
    this.io.on('connection', (socket) => this.serve(socket));
  }

  /** Registers the routes on the gateway's uWS app (UwsServer.attach hands it over). */
  attach(app: unknown): void {
    this.io.attachApp(app);
  }

  get connections(): number {
    return this.io.engine?.clientsCount ?? 0;
  }

  /** Draining: every Socket.IO client is disconnected (its client reconnects elsewhere and resumes). */
  close(): void {
    this.io.disconnectSockets(true);
    void this.io.close();
  }

  private async originAllowed(headers: Record<string, string>): Promise<boolean> {
    const r = await this.d.access.http(requestInfo(headers));
    return !('respond' in r);
  }

  /** Admission, then the bearer token: `auth: {token}` or an Authorization header. */
  private async authenticate(socket: Socket): Promise<ErrorBody | null> {
    const refused = this.d.admit();
    if (refused) return refused;
    const headers = { ...(socket.handshake.headers as Record<string, string>) };
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string') headers.authorization = `Bearer ${token}`;
    const r = await this.d.access.upgrade(requestInfo(headers));
    if (r.ok) {
      socket.data.principal = r.ctx;
      return null;
    }
    try {
      return (JSON.parse(r.body) as { error: ErrorBody }).error;
    } catch {
      return errorBody('unauthenticated', 'credentials required');
    }
  }

  private serve(socket: Socket): void {
    const p = socket.data.principal as Principal;
    const log = this.d.log.child({ door: 'socket.io', conn: socket.id, tenant: p.tenant });
    const guard = new FrameRateGuard(this.d.rate);
    let current: Followed | undefined;
    // Requests run one at a time, in the order they came (start_stream then stop_stream works).
    let chain = Promise.resolve();
    let queued = 0;

    const fail = (error: ErrorBody) => {
      this.d.onError(error.code);
      socket.emit('error', reply(error));
    };
    const unfollow = () => {
      if (current?.sub) this.d.hub.unsubscribe(p.tenant, current.sub);
      if (current) current.sub = undefined;
    };
    const follow = (sid: string, after: number, startTime: number) => {
      unfollow();
      if (socket.disconnected) return; // it left while the request ran: the session goes on in the log
      const f: Followed = { sid, startTime, counters: { tokensSent: 0 }, delivered: after, ended: false };
      current = f;
      f.sub = this.d.hub.subscribe(p.tenant, sid, after, this.sink(socket, f, log));
    };
    /** Every client event passes the rate limit, then waits its turn (at most MAX_QUEUED wait). */
    const on = (name: string, handler: (data: unknown) => Promise<void>) => {
      socket.on(name, (data: unknown) => {
        const v = guard.check();
        if (v.action === 'close') return void socket.disconnect(true);
        if (v.action === 'reject') return fail(v.error);
        if (queued >= MAX_QUEUED)
          return fail(errorBody('rate_limited', `${name}: ${MAX_QUEUED} requests are already waiting`));
        queued++;
        chain = chain
          .then(() => handler(data))
          .catch((err: unknown) => {
            log.error({ err, event: name }, 'socket.io request failed');
            fail(errorBody('unavailable', 'the request could not be completed; retry'));
          })
          .finally(() => {
            queued--;
          });
      });
    };

    on('start_stream', async (data) => {
      const r = StartStreamRequest.safeParse(data ?? {});
      if (!r.success) return fail(invalid(r.error.issues));
      const agent = this.d.agents.get(r.data.agent_type);
      if (!agent) return fail(errorBody('invalid_argument', `Unsupported agent type: ${r.data.agent_type}`));
      if (current && !current.ended)
        return fail(errorBody('busy', 'a stream is already active on this connection: stop_stream first'));
      const options = optionsOf(r.data);
      const started = await this.d.sessions.start(p, {
        type: 'start',
        agent,
        input: r.data.message,
        ...(options ? { options } : {}),
      });
      if (!started.ok) return fail(started.error);
      const sid = started.value.sid;
      this.d.onStarted();
      log.info({ sid, agent, agentType: r.data.agent_type }, 'socket.io stream started');
      socket.emit('stream_started', { session_id: sid, agent_type: r.data.agent_type, status: 'streaming' });
      follow(sid, 0, Date.now());
    });

    on('stop_stream', async () => {
      if (!current || current.ended) return fail(errorBody('not_found', 'No active streaming session'));
      const f = current;
      const r = await this.d.sessions.cancel(p, f.sid, 'stop_stream');
      if (!r.ok) return fail(r.error);
      f.ended = true;
      unfollow();
      log.info({ sid: f.sid }, 'socket.io stream stopped');
      socket.emit('stream_stopped', { session_id: f.sid });
    });

    on('get_metrics', async () => {
      if (!current) return fail(errorBody('not_found', 'No active streaming session'));
      const f = current;
      const r = await this.d.sessions.status(p, f.sid);
      if (!r.ok) return fail(r.error);
      socket.emit('metrics', {
        session_id: f.sid,
        tokens_sent: f.counters.tokensSent,
        start_time: new Date(f.startTime).toISOString(),
        is_streaming: !f.ended,
        position: f.delivered,
        last_position: r.value.lastSeq,
        lag: Math.max(0, r.value.lastSeq - f.delivered),
        state: r.value.state,
        agent: r.value.agent,
      });
    });

    on('resume_stream', async (data) => {
      const r = ResumeStreamRequest.safeParse(data ?? {});
      if (!r.success) return fail(invalid(r.error.issues));
      const { session_id: sid, position } = r.data;
      const auth = await this.d.sessions.authorizeResume(p, sid, position);
      if (!auth.ok) return fail(auth.error);
      const status = await this.d.sessions.status(p, sid);
      const startTime = status.ok ? status.value.createdAt : Date.now();
      socket.emit('stream_resumed', { session_id: sid, position, last_position: auth.value.lastSeq });
      log.info({ sid, after: position }, 'socket.io stream resumed');
      if (auth.value.finished && position >= auth.value.lastSeq) {
        unfollow();
        current = {
          sid,
          startTime,
          counters: { tokensSent: 0 },
          delivered: position,
          ended: true,
        };
        return;
      }
      follow(sid, position, startTime);
    });

    // A paused session (queue above the mark) resumes once engine.io has flushed the queue.
    socket.conn.on('drain', () => current?.sub?.resume());
    socket.on('disconnect', () => unfollow()); // not a cancel: the session can be resumed
    socket.emit('connected', { status: 'connected', session_id: socket.id });
  }

  /** Where a followed session's events go: translated to the seed's emits, paused when queued up. */
  private sink(socket: Socket, f: Followed, log: Logger): EventSink {
    // engine.io keeps its send queue private; its length is the only backpressure signal it gives.
    const conn = socket.conn as unknown as { writeBuffer?: unknown[] };
    const writable = () => socket.connected && (conn.writeBuffer?.length ?? 0) < HIGH_WATER_PACKETS;
    return {
      get closed() {
        return socket.disconnected;
      },
      get writable() {
        return writable();
      },
      send(data, seq) {
        const parsed = SessionEvent.safeParse(parseJson(decoder.decode(data)));
        f.delivered = seq;
        if (!parsed.success) {
          log.warn({ sid: f.sid, seq }, 'socket.io door skipped an event it cannot read');
          return writable();
        }
        for (const [name, payload] of seedEmits(parsed.data, f.counters)) socket.emit(name, payload);
        if (isTerminal(parsed.data)) f.ended = true;
        return writable();
      },
      fail(sid, code, message) {
        f.ended = true;
        socket.emit('error', reply(errorBody(code, `session ${sid}: ${message}`)));
      },
    };
  }
}

/** JSON.parse that yields undefined instead of throwing (a stored event is never trusted blindly). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function requestInfo(headers: Record<string, string>): HttpRequestInfo {
  return {
    method: 'get',
    path: '/socket.io/',
    query: new URLSearchParams(),
    headers,
    body: Buffer.alloc(0),
  };
}
