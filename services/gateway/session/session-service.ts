import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { jobMsgId, subjects } from '../../../shared/nats/subjects.js';
import type { UserSessionIndex } from '../../../shared/nats/user-session-index.js';
import {
  type ErrorBody,
  errorBody,
  type Job,
  type SessionRecord,
  type StartFrame,
} from '../../../shared/protocol/index.js';
import { mayUseAgent, owns, type Principal } from '../auth/principal.js';

export type { Principal };

/** Optional cluster-wide cap on a user's active sessions (jwt mode; dev has one shared user). */
export interface UserSessionLimit {
  index: UserSessionIndex;
  max: number;
}

const ACTIVE_STATES: ReadonlySet<SessionRecord['state']> = new Set([
  'queued',
  'running',
  'waiting_for_input',
]);

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Creates session ids that are valid subject tokens and KV keys. */
export function newSessionId(): string {
  return `s_${randomBytes(12).toString('base64url')}`;
}

/**
 * The gateway's session operations, independent of any transport: start (registry + job),
 * cancel (control subject + registry flag) and the checks a resume needs. The gateway never
 * runs a model; it records and queues.
 */
export class SessionService {
  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly registry: SessionRegistry,
    private readonly eventLog: JetStreamEventLog,
    private readonly userLimit?: UserSessionLimit,
  ) {}

  async start(p: Principal, frame: StartFrame): Promise<Result<{ sid: string; created: boolean }>> {
    if (!mayUseAgent(p, frame.agent))
      return {
        ok: false,
        error: errorBody('forbidden', `agent "${frame.agent}" is not allowed for this user`),
      };
    const sid = frame.sid ?? newSessionId();
    const now = Date.now();
    const record: SessionRecord = {
      sid,
      tenant: p.tenant,
      user: p.user,
      agent: frame.agent,
      state: 'queued',
      createdAt: now,
      updatedAt: now,
      turns: 1,
      cancelRequested: false,
    };
    const created = await this.registry.create(record);
    if (!created.created) {
      if (!owns(p, created.record))
        return { ok: false, error: errorBody('already_exists', `session ${sid} exists`) };
      // Idempotent start: the same owner retried; the job's msg id dedupes the queue too.
    } else {
      const refused = await this.admitForUser(p, sid);
      if (refused) return { ok: false, error: refused };
    }
    const job: Job = {
      v: 1,
      sid,
      tenant: p.tenant,
      user: p.user,
      agent: frame.agent,
      input: frame.input,
      options: frame.options ?? {},
      turn: 1,
      createdAt: now,
    };
    await this.js.publish(subjects.job(frame.agent), JSON.stringify(job), {
      msgID: jobMsgId(sid, 1),
      timeout: 5_000,
    });
    return { ok: true, value: { sid, created: created.created } };
  }

  /**
   * MAX_SESSIONS_PER_USER: counted in NATS so the cap holds across gateways. The record is
   * created first (so a racing start on another gateway already counts it) and removed again
   * when the user is over the limit.
   */
  private async admitForUser(p: Principal, sid: string): Promise<ErrorBody | null> {
    const limit = this.userLimit;
    if (!limit || limit.max <= 0) return null;
    const isActive = async (id: string) => {
      const r = await this.registry.get(id);
      return r !== null && owns(p, r) && ACTIVE_STATES.has(r.state);
    };
    const r = await limit.index.admit(p.tenant, p.user, sid, limit.max, isActive);
    if (r.admitted) return null;
    await this.registry.delete(sid);
    return errorBody('too_many_sessions', `at most ${limit.max} active sessions per user`);
  }

  /** The session's record when `p` owns it: `not_found` or `forbidden` otherwise. */
  async owned(p: Principal, sid: string): Promise<Result<SessionRecord>> {
    const record = await this.registry.get(sid);
    if (!record) return { ok: false, error: errorBody('not_found', `no session ${sid}`) };
    if (!owns(p, record))
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another user`) };
    return { ok: true, value: record };
  }

  /** Checks that `p` may read session `sid` from `after`, and where its log stands. */
  async authorizeResume(p: Principal, sid: string, after: number): Promise<Result<{ lastSeq: number }>> {
    // The log is read under the caller's own tenant subject, so another tenant's events are
    // unreachable even before the ownership check.
    const [record, last] = await Promise.all([this.registry.get(sid), this.eventLog.last(p.tenant, sid)]);
    if (record && !owns(p, record)) {
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another user`) };
    }
    if (!record && last) {
      // Events without an owner record: the record expired or was deleted, so ownership can no
      // longer be proven; another user of the same tenant must not read them.
      return { ok: false, error: errorBody('expired', `session ${sid} expired`) };
    }
    if (!last) {
      if (record) return { ok: true, value: { lastSeq: 0 } }; // queued, no events yet
      return after > 0
        ? {
            ok: false,
            error: errorBody('expired', `session ${sid} has no events left: it expired (or never existed)`),
          }
        : { ok: false, error: errorBody('not_found', `no session ${sid}`) };
    }
    if (after > last.event.seq) {
      return {
        ok: false,
        error: errorBody('invalid_argument', `after=${after} is beyond the last event (${last.event.seq})`),
      };
    }
    return { ok: true, value: { lastSeq: last.event.seq } };
  }

  async cancel(p: Principal, sid: string, reason = 'cancelled by client'): Promise<Result<null>> {
    const owned = await this.owned(p, sid);
    if (!owned.ok) return owned;
    // The flag covers a job not yet picked up; the control message stops a running one now.
    await this.registry.update(sid, (r) => ({ ...r, cancelRequested: true }));
    this.nc.publish(subjects.control(sid), JSON.stringify({ type: 'cancel', sid, reason }));
    return { ok: true, value: null };
  }
}
