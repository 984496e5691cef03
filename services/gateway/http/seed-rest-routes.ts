import type { Logger } from '../../../shared/logging/logger.js';
import {
  errorBody,
  type SessionEvent,
  SessionListQuery,
  type SessionRecord,
  type SessionState,
} from '../../../shared/protocol/index.js';
import type { SessionStatusReader } from '../session/session-status.js';
import type { HttpResult } from '../transport/connection.js';
import { errorResult } from './http-session-stream.js';
import type { PrincipalResolver, RouteSpec } from './session-api-routes.js';

export interface SeedRestDeps {
  status: SessionStatusReader;
  principal: PrincipalResolver;
  /** The gateway's readiness (`/readyz`): 200 means NATS is connected and it is not draining. */
  ready: () => HttpResult;
  /** Sessions this gateway is streaming to its clients now (the seed's in-process count). */
  localSessions: () => number;
  /** The last stored event of a session, for the seed's `tokens_sent`. */
  lastEvent: (tenant: string, sid: string) => Promise<SessionEvent | null>;
  onError: (code: string) => void;
  log: Logger;
}

/** Registry states in which a session is still answering: the seed's "active" sessions. */
const ACTIVE: readonly SessionState[] = ['queued', 'running', 'waiting_for_input'];

function json(status: number, body: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** Model tokens the session's current turn has produced, read from its last event. */
function tokensOf(ev: SessionEvent | null): number {
  if (ev?.type === 'done') return ev.tokens;
  if (ev?.type === 'token' && ev.index !== undefined) return ev.index + 1;
  return 0;
}

/**
 * The seed's REST paths with the seed's exact shapes:
 * `GET /api/v1/stream/sessions` -> `{active_sessions: [{session_id, tokens_sent, start_time,
 * is_streaming}], total_count}` (the caller's tenant, read from NATS, so every gateway answers
 * the same) and `GET /api/v1/stream/health` -> `{status: "healthy", active_sessions, timestamp}`
 * (503 with `status: "unhealthy"` while NATS is down or the gateway drains).
 */
export function seedRestRoutes(d: SeedRestDeps): RouteSpec[] {
  const sessions = async (req: Parameters<RouteSpec['handler']>[0]): Promise<HttpResult> => {
    try {
      const p = await d.principal(req);
      if (!p) {
        d.onError('unauthenticated');
        return errorResult(errorBody('unauthenticated', 'credentials required'));
      }
      const active: SessionRecord[] = [];
      for (const state of ACTIVE) {
        const q = SessionListQuery.parse({ limit: 500, state });
        const r = await d.status.list(p, q);
        if (!r.ok) return errorResult(r.error);
        active.push(...r.value.sessions);
      }
      const rows = await Promise.all(
        active.map(async (s) => ({
          session_id: s.sid,
          tokens_sent: tokensOf(await d.lastEvent(s.tenant, s.sid)),
          start_time: new Date(s.createdAt).toISOString(),
          is_streaming: s.state !== 'waiting_for_input',
        })),
      );
      return json(200, { active_sessions: rows, total_count: rows.length });
    } catch (err) {
      d.log.error({ err, path: req.path }, 'seed session list failed');
      d.onError('unavailable');
      return errorResult(errorBody('unavailable', 'the session registry could not be read; retry'));
    }
  };
  const health = (): HttpResult => {
    const ok = d.ready().status === 200;
    return json(ok ? 200 : 503, {
      status: ok ? 'healthy' : 'unhealthy',
      active_sessions: d.localSessions(),
      timestamp: new Date().toISOString(),
    });
  };
  return [
    { method: 'get', pattern: '/api/v1/stream/sessions', handler: sessions },
    { method: 'get', pattern: '/api/v1/stream/health', handler: health },
  ];
}
