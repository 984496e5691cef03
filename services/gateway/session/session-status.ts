import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import {
  errorBody,
  type SessionListPage,
  type SessionListQuery,
  type SessionRecord,
  type SessionStatus,
} from '../../../shared/protocol/index.js';
import type { Principal, Result } from './session-service.js';

/** Who may read a tenant's sessions (the auth layer may widen it, e.g. for operators). */
export type TenantAccess = (p: Principal, tenant: string) => boolean;

/** Default: a principal sees its own tenant only. */
export const ownTenantOnly: TenantAccess = (p, tenant) => p.tenant === tenant;

/**
 * Reads session status from NATS only (the KV registry and the EVENTS log), so every gateway
 * answers the same: there is no gateway-local session state to ask.
 */
export class SessionStatusReader {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly eventLog: JetStreamEventLog,
    private readonly canRead: TenantAccess = ownTenantOnly,
    /** Live workers of an agent (AgentDirectory); undefined when unknown: no queue reason shown. */
    private readonly liveWorkers?: (agent: string) => number | undefined,
  ) {}

  /** One session: registry entry plus last seq, stored event count and last event. */
  async get(p: Principal, sid: string): Promise<Result<SessionStatus>> {
    const record = await this.registry.get(sid);
    if (!record) return { ok: false, error: errorBody('not_found', `no session ${sid}`) };
    if (!this.canRead(p, record.tenant))
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another tenant`) };
    const [last, events] = await Promise.all([
      this.eventLog.last(record.tenant, sid),
      this.eventLog.count(record.tenant, sid),
    ]);
    return {
      ok: true,
      value: {
        sid,
        tenant: record.tenant,
        user: record.user,
        agent: record.agent,
        state: record.state,
        turns: record.turns,
        cancelRequested: record.cancelRequested,
        ...(record.lastOutcome ? { lastOutcome: record.lastOutcome } : {}),
        createdAt: record.createdAt,
        updatedAt: record.updatedAt,
        lastSeq: last?.event.seq ?? 0,
        events,
        ...(last ? { lastEventType: last.event.type, lastEventAt: last.event.ts } : {}),
        ...(record.state === 'queued' && this.liveWorkers?.(record.agent) === 0
          ? { queueReason: 'no_live_worker' as const }
          : {}),
      },
    };
  }

  /**
   * A page of sessions ordered by sid, filtered by tenant (default: the principal's) and state.
   * Keys are listed and sorted on every call, then records read until the page is full: fine
   * for an operator API over a bucket bounded by its TTL, not for per-request hot paths.
   */
  async list(p: Principal, q: SessionListQuery): Promise<Result<SessionListPage>> {
    const tenant = q.tenant ?? p.tenant;
    if (!this.canRead(p, tenant))
      return { ok: false, error: errorBody('forbidden', `may not list sessions of tenant ${tenant}`) };
    const keys = (await this.registry.keys()).sort();
    const sessions: SessionRecord[] = [];
    let i = q.cursor ? upperBound(keys, q.cursor) : 0;
    for (; i < keys.length && sessions.length < q.limit; i++) {
      const r = await this.registry.get(keys[i]!);
      if (!r || r.tenant !== tenant || (q.state && r.state !== q.state)) continue;
      sessions.push(r);
    }
    const more = i < keys.length;
    return {
      ok: true,
      value: { sessions, ...(more && sessions.length > 0 ? { nextCursor: sessions.at(-1)!.sid } : {}) },
    };
  }
}

/** Index of the first key strictly greater than `key` in a sorted array. */
function upperBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
