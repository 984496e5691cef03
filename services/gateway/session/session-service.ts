import { randomBytes } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  anchoredSnapshot,
  readConversation,
  type SnapshotStore,
} from '../../../shared/nats/conversation-snapshots.js';
import { type JetStreamEventLog, LogConflictError } from '../../../shared/nats/event-log.js';
import { hedged } from '../../../shared/nats/hedged-read.js';
import { pendingUserMessageHeaders } from '../../../shared/nats/job-headers.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { refuseWhenFull } from '../../../shared/nats/storage-full.js';
import { jobMsgId, sessionPartitions, subjects } from '../../../shared/nats/subjects.js';
import type { UserSessionIndex } from '../../../shared/nats/user-session-index.js';
import {
  type ConversationSnapshot,
  type ErrorBody,
  errorBody,
  foldConversation,
  type InputFrame,
  isTerminal,
  type Job,
  type MessageFrame,
  pendingInput,
  type SessionEvent,
  type SessionOptions,
  type SessionRecord,
  type SessionStatus,
  type StartFrame,
} from '../../../shared/protocol/index.js';
import type { AgentGate, QueueReason } from '../agents/agent-gate.js';
import { mayUseAgent, owns, type Principal } from '../auth/principal.js';
import { SessionStatusReader } from './session-status.js';

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

export interface SessionLimits {
  /** Turns per conversation (MAX_TURNS_PER_SESSION). */
  maxTurns: number;
  /** Longest user text of a start, message or input (MAX_INPUT_CHARS); unset = the protocol's cap. */
  maxInputChars?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** The answer while the gateway has no NATS connection (each request would only time out). */
const NATS_DOWN = {
  ok: false,
  error: errorBody('unavailable', 'the gateway lost its NATS connection; retry shortly', {
    retryAfterMs: 1_000,
  }),
} as const;

/** Direct-get retries (5, 20, 80 ms apart) raced with the leader when a replica lacks a resume position. */
const STALE_RETRIES = 3;

/** How long a resume waits for the gateway's NATS connection to come back before `unavailable`. */
const RESUME_RECONNECT_WAIT_MS = 1_500;

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
    private readonly statusReader = new SessionStatusReader(registry, eventLog),
    private readonly limits: SessionLimits = { maxTurns: 100 },
    private readonly writerId = 'gateway',
    private readonly userLimit?: UserSessionLimit,
    /** False while NATS is disconnected: requests are refused at once instead of timing out. */
    private readonly natsConnected: () => boolean = () => true,
    /** Known agents and queue timeouts (docs/agent-pools.md); unset = every agent name is accepted. */
    private readonly agents?: AgentGate,
    /** Conversation snapshots (absent when CONVERSATION_SNAPSHOTS=off): a follow-up reads only the tail. */
    private readonly snapshots?: SnapshotStore,
  ) {}

  /** A session's status and counts for its owner, read from NATS (the same answer on every gateway). */
  async status(p: Principal, sid: string): Promise<Result<SessionStatus>> {
    // Only the owner sees a session's details (the reader alone would allow the whole tenant).
    const owned = await this.owned(p, sid);
    if (!owned.ok) return owned;
    return this.statusReader.get(p, sid);
  }

  /** Records the session and queues its job; `storage_full` while the log is out of space. */
  start(
    p: Principal,
    frame: StartFrame,
  ): Promise<Result<{ sid: string; created: boolean; queueReason?: QueueReason }>> {
    return refuseWhenFull(() => this.startSession(p, frame));
  }

  private async startSession(
    p: Principal,
    frame: StartFrame,
  ): Promise<Result<{ sid: string; created: boolean; queueReason?: QueueReason }>> {
    if (!this.natsConnected()) return NATS_DOWN;
    const tooLong = this.checkInput(frame.input);
    if (tooLong) return tooLong;
    if (!mayUseAgent(p, frame.agent))
      return {
        ok: false,
        error: errorBody('forbidden', `agent "${frame.agent}" is not allowed for this user`),
      };
    const admitted = this.agents ? await this.agents.admit(frame.agent) : { ok: true as const };
    if (!admitted.ok) return admitted;
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
      ...(frame.options ? { options: frame.options } : {}),
    };
    const created = await this.registry.create(record);
    if (!created.created) {
      if (!owns(p, created.record))
        return { ok: false, error: errorBody('already_exists', `session ${sid} exists`) };
      // Idempotent start: the same owner retried; the job's msg id dedupes the queue too.
    } else {
      const refused = await this.admitForUser(p, sid);
      if (refused) {
        await this.registry.delete(sid);
        return { ok: false, error: refused };
      }
    }
    // The user's message opens the log (seq 1) so the conversation is whole from any device.
    // A retried start finds it there and only re-queues the job (deduplicated by its msg id).
    const ev: SessionEvent = {
      sid,
      seq: 1,
      ts: now,
      type: 'user_message',
      text: frame.input,
      user: p.user,
    };
    const appendUserMessage = () =>
      this.eventLog.append(p.tenant, ev, 0, this.writerId).catch((err: unknown) => {
        if (!(err instanceof LogConflictError)) throw err; // a concurrent retry wrote it: fine
        return undefined;
      });
    const queue = (userMessagePending: boolean) =>
      this.queueJob(p, sid, created.record.agent, frame.input, frame.options ?? {}, 1, userMessagePending);
    let userStreamSeq: number | undefined;
    let jobStreamSeq: number;
    if (created.created) {
      // A session this call created (its owner proven by the record) has no log yet: the message
      // and the job go out together, one round trip instead of two before the worker can start.
      // The job says its message is on the way, so the worker waits for it instead of writing it.
      [userStreamSeq, jobStreamSeq] = await Promise.all([appendUserMessage(), queue(true)]);
    } else {
      const last = await this.eventLog.last(p.tenant, sid);
      if (!last) userStreamSeq = await appendUserMessage();
      jobStreamSeq = await queue(false);
    }
    const { queueReason } = admitted;
    // Only the call that wrote the turn's first event times it out (a retried start does not re-arm).
    if (queueReason && userStreamSeq !== undefined)
      this.agents?.queued({
        tenant: p.tenant,
        sid,
        agent: frame.agent,
        userSeq: 1,
        userStreamSeq,
        jobStreamSeq,
      });
    return { ok: true, value: { sid, created: created.created, ...(queueReason ? { queueReason } : {}) } };
  }

  private async queueJob(
    p: Principal,
    sid: string,
    agent: string,
    input: string,
    options: SessionOptions,
    turn: number,
    /** True when this turn's user message is being appended concurrently (docs/benchmarks.md). */
    userMessagePending = false,
  ): Promise<number> {
    const job: Job = {
      v: 1,
      sid,
      tenant: p.tenant,
      user: p.user,
      agent,
      input,
      options,
      turn,
      createdAt: Date.now(),
      ...(sessionPartitions(sid) > 1 ? { partitions: sessionPartitions(sid) } : {}),
    };
    const ack = await this.js.publish(subjects.job(agent, sid), JSON.stringify(job), {
      msgID: jobMsgId(sid, turn),
      timeout: 5_000,
      ...(userMessagePending ? { headers: pendingUserMessageHeaders() } : {}),
    });
    return ack.seq;
  }

  /**
   * A follow-up turn: accepted only when the previous turn has ended. The message is appended
   * to the log (fenced: if anything else wrote first, the caller is told the session is busy)
   * and a job for the new turn is queued; the worker rebuilds the history from the log.
   */
  message(
    p: Principal,
    f: MessageFrame,
  ): Promise<Result<{ turn: number; seq: number; queueReason?: QueueReason }>> {
    return refuseWhenFull(() => this.appendMessage(p, f));
  }

  private async appendMessage(
    p: Principal,
    f: MessageFrame,
  ): Promise<Result<{ turn: number; seq: number; queueReason?: QueueReason }>> {
    const tooLong = this.checkInput(f.text);
    if (tooLong) return tooLong;
    const owned = await this.owned(p, f.sid);
    if (!owned.ok) return owned;
    const record = owned.value;
    const options = record.options ?? {};
    if (record.turns >= this.limits.maxTurns) {
      return {
        ok: false,
        error: errorBody(
          'limit_exceeded',
          `session ${f.sid} reached the maximum of ${this.limits.maxTurns} turns`,
        ),
      };
    }
    const read = await readConversation(this.eventLog, this.snapshots, p.tenant, f.sid);
    const { lastStreamSeq, last, conversation: conv } = read;
    if (!last && record.turns > 0) {
      return { ok: false, error: errorBody('expired', `session ${f.sid} has no events left: it expired`) };
    }
    const turn = conv.turns.length + 1;
    if (f.turn !== undefined && f.turn === turn - 1 && conv.turns.at(-1)?.user === f.text) {
      // A retry of a message already in the log: make sure its job is queued, nothing else.
      await this.queueJob(p, f.sid, record.agent, f.text, options, f.turn);
      return { ok: true, value: { turn: f.turn, seq: conv.turns.at(-1)?.startSeq ?? 0 } };
    }
    if (f.turn !== undefined && f.turn !== turn) {
      return {
        ok: false,
        error: errorBody(
          'invalid_argument',
          `turn ${f.turn} does not follow the conversation (next turn is ${turn})`,
        ),
      };
    }
    if (last && !isTerminal(last)) {
      return {
        ok: false,
        error: errorBody('busy', `session ${f.sid} is still answering turn ${conv.turns.length}`),
      };
    }
    const refused = await this.admitForUser(p, f.sid);
    if (refused) return { ok: false, error: refused };
    const admitted = this.agents ? await this.agents.admit(record.agent) : { ok: true as const };
    if (!admitted.ok) return admitted;
    const ev: SessionEvent = {
      sid: f.sid,
      seq: (last?.seq ?? 0) + 1,
      ts: Date.now(),
      type: 'user_message',
      text: f.text,
      user: p.user,
    };
    let userStreamSeq: number;
    try {
      userStreamSeq = await this.eventLog.append(p.tenant, ev, lastStreamSeq, this.writerId);
    } catch (err) {
      if (err instanceof LogConflictError)
        return { ok: false, error: errorBody('busy', `session ${f.sid} changed meanwhile; retry`) };
      throw err;
    }
    await this.registry.update(f.sid, (r) => ({
      ...r,
      turns: turn,
      state: 'queued',
      cancelRequested: false,
    }));
    const jobStreamSeq = await this.queueJob(p, f.sid, record.agent, f.text, options, turn);
    const { queueReason } = admitted;
    if (queueReason)
      this.agents?.queued({
        tenant: p.tenant,
        sid: f.sid,
        agent: record.agent,
        userSeq: ev.seq,
        userStreamSeq,
        jobStreamSeq,
      });
    return { ok: true, value: { turn, seq: ev.seq, ...(queueReason ? { queueReason } : {}) } };
  }

  /** The user's answer to the pending `input_request`; the waiting worker reads it from the log. */
  input(p: Principal, f: InputFrame): Promise<Result<{ seq: number }>> {
    return refuseWhenFull(() => this.appendInput(p, f));
  }

  private async appendInput(p: Principal, f: InputFrame): Promise<Result<{ seq: number }>> {
    const tooLong = this.checkInput(f.text);
    if (tooLong) return tooLong;
    const owned = await this.owned(p, f.sid);
    if (!owned.ok) return owned;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { events, lastStreamSeq } = await this.eventLog.readAll(p.tenant, f.sid);
      const pending = pendingInput(foldConversation(events));
      if (!pending || pending.requestId !== f.requestId) {
        return {
          ok: false,
          error: errorBody('invalid_argument', `no pending input request ${f.requestId} in session ${f.sid}`),
        };
      }
      const ev: SessionEvent = {
        sid: f.sid,
        seq: (events.at(-1)?.seq ?? 0) + 1,
        ts: Date.now(),
        type: 'input',
        requestId: f.requestId,
        text: f.text,
        user: p.user,
      };
      try {
        await this.eventLog.append(p.tenant, ev, lastStreamSeq, this.writerId);
        return { ok: true, value: { seq: ev.seq } };
      } catch (err) {
        if (!(err instanceof LogConflictError)) throw err; // the worker wrote meanwhile: read again
      }
    }
    return { ok: false, error: errorBody('busy', `session ${f.sid} is changing too fast; retry`) };
  }

  /** A session's whole log, for its owner (the Responses API rebuilds a response from it). */
  async events(
    p: Principal,
    sid: string,
  ): Promise<Result<{ record: SessionRecord; events: SessionEvent[] }>> {
    if (!this.natsConnected()) return NATS_DOWN;
    const owned = await this.owned(p, sid);
    if (!owned.ok) return owned;
    const { events } = await this.eventLog.readAll(p.tenant, sid);
    return { ok: true, value: { record: owned.value, events } };
  }

  /**
   * The conversation snapshot a resume from `after` may start from (its owner was checked by
   * {@link authorizeResume}), or null: snapshots off, none, not anchored in the log, or not ahead of `after`.
   */
  async resumeSnapshot(p: Principal, sid: string, after: number): Promise<ConversationSnapshot | null> {
    if (!this.snapshots) return null;
    const snap = await anchoredSnapshot(this.eventLog, this.snapshots, p.tenant, sid);
    return snap && snap.seq > after ? snap : null;
  }

  /** Deletes a session everywhere: stops a running turn, purges its log, drops its registry entry. */
  async delete(p: Principal, sid: string): Promise<Result<null>> {
    const owned = await this.owned(p, sid);
    if (!owned.ok) return owned;
    this.nc.publish(
      subjects.control(sid),
      JSON.stringify({ type: 'cancel', sid, reason: 'session deleted' }),
    );
    await this.eventLog.purge(p.tenant, sid);
    await this.snapshots?.delete(p.tenant, sid).catch(() => undefined);
    await this.registry.delete(sid);
    return { ok: true, value: null };
  }

  /**
   * Log generations: the client holds event `after` written in `epoch`. If the log now ends
   * before it, or holds a different event there, the log was lost and written again (a purge, a
   * whole-cluster crash under lazy fsync): the client must drop its copy, never mix the two.
   */
  private async rewritten(
    tenant: string,
    sid: string,
    after: number,
    epoch: string,
    lastSeq: number,
    pos?: number,
  ): Promise<ErrorBody | null> {
    const found = after > lastSeq ? null : await this.eventLog.eventAt(tenant, sid, after, pos);
    // A log that holds the seq but whose writer predates epochs cannot be checked: no refusal.
    if (found && (found.epoch === undefined || found.epoch === epoch)) return null;
    if (!found && after <= lastSeq) return null; // aged out under it: the catch-up answers `expired`
    return errorBody(
      'log_rewritten',
      `session ${sid} was rewritten after a loss: event ${after} of epoch ${epoch} is gone; read it again from 0`,
    );
  }

  /**
   * MAX_SESSIONS_PER_USER: counted in NATS so the cap holds across gateways. A start creates the
   * record first (so a racing start on another gateway already counts it) and removes it again
   * when the user is over the limit; a follow-up turn reactivates a session, so it is admitted too.
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
    return errorBody('too_many_sessions', `at most ${limit.max} active sessions per user`);
  }

  /** MAX_INPUT_CHARS, checked before anything is read or written. */
  private checkInput(text: string): { ok: false; error: ErrorBody } | null {
    const max = this.limits.maxInputChars;
    if (max === undefined || text.length <= max) return null;
    return { ok: false, error: errorBody('limit_exceeded', `input exceeds ${max} characters`) };
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
  async authorizeResume(
    p: Principal,
    sid: string,
    after: number,
    /** The client's position beyond `seq`: the epoch of its event `after`, and a read hint. */
    held: { epoch?: string; pos?: number } = {},
  ): Promise<Result<{ lastSeq: number; finished: boolean }>> {
    // A gateway whose NATS server just died is usually back within a few hundred ms (another
    // node): a resume waits that out rather than send its client away for a second.
    if (!(await this.connectedWithin(RESUME_RECONNECT_WAIT_MS))) return NATS_DOWN;
    // Both reads are direct gets any replica answers (no wait for a leader election), hedged
    // (hedged-read.ts): a copy lost with a dead server is sent again instead of timing out.
    const [record, direct] = await Promise.all([
      hedged(this.nc, () => this.registry.get(sid)),
      this.eventLog.last(p.tenant, sid),
    ]);
    if (record && !owns(p, record)) {
      return { ok: false, error: errorBody('forbidden', `session ${sid} belongs to another user`) };
    }
    // A direct get may come from a replica behind the leader (R3, a node catching up after a
    // restart): before refusing a position as expired or beyond the end, ask again (another
    // replica may answer, or this one caught up), and only then the leader, which may be in the
    // middle of an election while a node is down.
    const covers = (l: typeof direct) => l !== null && after <= l.event.seq;
    const last = covers(direct) ? direct : await this.freshLast(p.tenant, sid, covers);
    if (!record && last) {
      // Events without an owner record: the record expired or was deleted, so ownership can no
      // longer be proven; another user of the same tenant must not read them.
      return { ok: false, error: errorBody('expired', `session ${sid} expired`) };
    }
    if (!last) {
      // A client that holds events (after > 0), or a finished session with an empty log, means the
      // events left the retention window: answer `expired`, never an empty stream that stays silent.
      if (record && after === 0 && (record.state === 'queued' || record.state === 'running'))
        return { ok: true, value: { lastSeq: 0, finished: false } }; // no events yet
      if (after > 0 || record)
        return {
          ok: false,
          error: errorBody('expired', `session ${sid} has no events left: they passed the retention window`),
        };
      return { ok: false, error: errorBody('not_found', `no session ${sid}`) };
    }
    if (held.epoch !== undefined && after > 0) {
      const rewritten = await this.rewritten(p.tenant, sid, after, held.epoch, last.event.seq, held.pos);
      if (rewritten) return { ok: false, error: rewritten };
    }
    if (after > last.event.seq) {
      return {
        ok: false,
        error: errorBody('invalid_argument', `after=${after} is beyond the last event (${last.event.seq})`),
      };
    }
    return { ok: true, value: { lastSeq: last.event.seq, finished: isTerminal(last.event) } };
  }

  /**
   * The leader's answer, raced by a few more direct gets (5, 20, 80 ms apart) that win only when
   * they show the client's position: a healthy leader answers as before (no added wait), and
   * while the leader is being elected a replica that caught up answers instead.
   */
  private async freshLast(
    tenant: string,
    sid: string,
    covers: (l: Awaited<ReturnType<JetStreamEventLog['last']>>) => boolean,
  ): Promise<Awaited<ReturnType<JetStreamEventLog['last']>>> {
    let settled = false;
    const leader = this.eventLog.last(tenant, sid, { fromLeader: true });
    const replicas = (async () => {
      for (let i = 0; i < STALE_RETRIES && !settled; i++) {
        await new Promise((r) => setTimeout(r, 5 * 4 ** i));
        if (settled) break;
        const l = await this.eventLog.last(tenant, sid).catch(() => null);
        if (covers(l)) return l;
      }
      return leader; // none did: the leader decides
    })();
    try {
      return await Promise.race([leader, replicas]);
    } finally {
      settled = true;
    }
  }

  private async connectedWithin(ms: number): Promise<boolean> {
    for (let waited = 0; !this.natsConnected(); waited += 25) {
      if (waited >= ms) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
    return true;
  }

  async cancel(p: Principal, sid: string, reason = 'cancelled by client'): Promise<Result<null>> {
    if (!this.natsConnected()) return NATS_DOWN;
    const owned = await this.owned(p, sid);
    if (!owned.ok) return owned;
    // The flag covers a job not yet picked up; the control message stops a running one now.
    await this.registry.update(sid, (r) => ({ ...r, cancelRequested: true }));
    this.nc.publish(subjects.control(sid), JSON.stringify({ type: 'cancel', sid, reason }));
    return { ok: true, value: null };
  }
}
