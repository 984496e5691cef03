import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { jobMsgId, subjects } from '../../../shared/nats/subjects.js';
import {
  type ErrorBody,
  errorBody,
  type Job,
  type SessionRecord,
  type StartFrame,
} from '../../../shared/protocol/index.js';

/** Who is asking: set by authentication at upgrade time (anonymous/public when auth is off). */
export interface Principal {
  tenant: string;
  user: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** The answer while the gateway has no NATS connection (each request would only time out). */
const NATS_DOWN = {
  ok: false,
  error: errorBody('unavailable', 'the gateway lost its NATS connection; retry shortly', {
    retryAfterMs: 1_000,
  }),
} as const;

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
    /** False while NATS is disconnected: requests are refused at once instead of timing out. */
    private readonly natsConnected: () => boolean = () => true,
  ) {}

  async start(p: Principal, frame: StartFrame): Promise<Result<{ sid: string; created: boolean }>> {
    if (!this.natsConnected()) return NATS_DOWN;
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
      const r = created.record;
      if (r.tenant !== p.tenant || r.user !== p.user)
        return { ok: false, error: errorBody('already_exists', `session ${sid} exists`) };
      // Idempotent start: the same owner retried; the job's msg id dedupes the queue too.
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

  /** Checks that `p` may read session `sid` from `after`, and where its log stands. */
  async authorizeResume(p: Principal, sid: string, after: number): Promise<Result<{ lastSeq: number }>> {
    if (!this.natsConnected()) return NATS_DOWN;
    const [record, direct] = await Promise.all([this.registry.get(sid), this.eventLog.last(p.tenant, sid)]);
    if (record && (record.tenant !== p.tenant || record.user !== p.user)) {
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another user`) };
    }
    // A direct get may come from a replica behind the leader (R3, a node catching up): before
    // refusing a position as expired or beyond the end, ask the leader.
    const last =
      direct && after <= direct.event.seq
        ? direct
        : await this.eventLog.last(p.tenant, sid, { fromLeader: true });
    if (!last) {
      // A client that holds events (after > 0), or a finished session with an empty log, means the
      // events left the retention window: answer `expired`, never an empty stream that stays silent.
      if (record && after === 0 && (record.state === 'queued' || record.state === 'running'))
        return { ok: true, value: { lastSeq: 0 } }; // no events yet
      if (after > 0 || record)
        return {
          ok: false,
          error: errorBody('expired', `session ${sid} has no events left: they passed the retention window`),
        };
      return { ok: false, error: errorBody('not_found', `no session ${sid}`) };
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
    if (!this.natsConnected()) return NATS_DOWN;
    const record = await this.registry.get(sid);
    if (!record) return { ok: false, error: errorBody('not_found', `no session ${sid}`) };
    if (record.tenant !== p.tenant || record.user !== p.user)
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another user`) };
    // The flag covers a job not yet picked up; the control message stops a running one now.
    await this.registry.update(sid, (r) => ({ ...r, cancelRequested: true }));
    this.nc.publish(subjects.control(sid), JSON.stringify({ type: 'cancel', sid, reason }));
    return { ok: true, value: null };
  }
}
