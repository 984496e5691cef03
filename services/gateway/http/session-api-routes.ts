import type { z } from 'zod';
import type { Logger } from '../../../shared/logging/logger.js';
import {
  CancelRequest,
  type ErrorBody,
  type ErrorCode,
  errorBody,
  SessionId,
  SessionListQuery,
} from '../../../shared/protocol/index.js';
import type { Principal, SessionService } from '../session/session-service.js';
import type { SessionStatusReader } from '../session/session-status.js';
import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';

/** Resolves who is calling (the access policy's HTTP filter); null means unauthenticated. */
export type PrincipalResolver = (req: HttpRequestInfo) => Principal | null | Promise<Principal | null>;

export interface SessionApiDeps {
  sessions: SessionService;
  status: SessionStatusReader;
  principal: PrincipalResolver;
  /** Counts typed errors (the gateway's errors metric). */
  onError: (code: string) => void;
  log: Logger;
}

export interface RouteSpec {
  method: 'get' | 'post';
  /** uWS pattern (`:id` is one path segment). */
  pattern: string;
  handler: (req: HttpRequestInfo) => Promise<HttpResult> | HttpResult;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  bad_frame: 400,
  invalid_argument: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  unknown_agent: 404,
  already_exists: 409,
  rate_limited: 429,
  unavailable: 503,
  overloaded: 503,
};

function json(status: number, body: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The session API's path segments: /v1/sessions/<id>[/cancel]. */
function sidOf(path: string): string {
  return decodeURIComponent(path.split('/')[3] ?? '');
}

function issueText(e: z.ZodError): string {
  const i = e.issues[0];
  return `${i?.path.join('.') || 'request'}: ${i?.message ?? 'invalid'}`;
}

/**
 * The session HTTP API, the same on every gateway (state lives in NATS): list, status, cancel,
 * (the seed's `/api/v1/stream/*` paths are seed-rest-routes.ts). Every input is parsed with zod; errors
 * are `{"error": ErrorBody}` with a matching HTTP status. Register with `server.route(...)`.
 */
export function sessionApiRoutes(d: SessionApiDeps): RouteSpec[] {
  const fail = (error: ErrorBody): HttpResult => {
    d.onError(error.code);
    return json(STATUS[error.code] ?? 500, { error });
  };
  /** Resolves the principal, then runs the handler; a thrown error becomes `unavailable`. */
  const guarded =
    (fn: (p: Principal, req: HttpRequestInfo) => Promise<HttpResult>) =>
    async (req: HttpRequestInfo): Promise<HttpResult> => {
      try {
        const p = await d.principal(req);
        if (!p) return fail(errorBody('unauthenticated', 'credentials required'));
        return await fn(p, req);
      } catch (err) {
        d.log.error({ err, path: req.path }, 'session api request failed');
        return fail(errorBody('unavailable', 'the session registry could not be read; retry'));
      }
    };

  const list = guarded(async (p, req) => {
    const q = SessionListQuery.safeParse(Object.fromEntries(req.query));
    if (!q.success) return fail(errorBody('invalid_argument', issueText(q.error)));
    const r = await d.status.list(p, q.data);
    return r.ok ? json(200, r.value) : fail(r.error);
  });

  const get = guarded(async (p, req) => {
    const sid = SessionId.safeParse(sidOf(req.path));
    if (!sid.success) return fail(errorBody('invalid_argument', `session id: ${issueText(sid.error)}`));
    const r = await d.sessions.status(p, sid.data); // owner only (SessionService.owned)
    return r.ok ? json(200, r.value) : fail(r.error);
  });

  const cancel = guarded(async (p, req) => {
    const sid = SessionId.safeParse(sidOf(req.path));
    if (!sid.success) return fail(errorBody('invalid_argument', `session id: ${issueText(sid.error)}`));
    let raw: unknown = {};
    if (req.body.length > 0) {
      try {
        raw = JSON.parse(req.body.toString('utf8'));
      } catch {
        return fail(errorBody('bad_frame', 'body is not valid JSON'));
      }
    }
    const body = CancelRequest.safeParse(raw);
    if (!body.success) return fail(errorBody('invalid_argument', issueText(body.error)));
    const r = await d.sessions.cancel(p, sid.data, body.data.reason);
    if (!r.ok) return fail(r.error);
    d.log.info({ sid: sid.data, tenant: p.tenant }, 'session cancel requested');
    return json(202, { ok: true, sid: sid.data });
  });

  return [
    { method: 'get', pattern: '/v1/sessions', handler: list },
    { method: 'get', pattern: '/v1/sessions/:id', handler: get },
    { method: 'post', pattern: '/v1/sessions/:id/cancel', handler: cancel },
  ];
}
