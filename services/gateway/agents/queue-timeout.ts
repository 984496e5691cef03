import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../../shared/logging/logger.js';
import { type JetStreamEventLog, LogConflictError } from '../../../shared/nats/event-log.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { jobsStream } from '../../../shared/nats/subjects.js';
import { errorBody, type SessionEvent } from '../../../shared/protocol/index.js';

/** A turn queued for an agent that had no live worker when it was queued. */
export interface QueuedTurn {
  tenant: string;
  sid: string;
  agent: string;
  /** seq and stream position of the turn's user_message: the queue timeout writes right after it. */
  userSeq: number;
  userStreamSeq: number;
  /** Where the job sits in the JOBS stream (removed when the turn times out). */
  jobStreamSeq?: number;
}

export interface QueueTimeoutDeps {
  eventLog: JetStreamEventLog;
  registry: SessionRegistry;
  jsm: JetStreamManager;
  timeoutMs: number;
  /** The gateway's writer id in event headers. */
  writerId: string;
  log: Logger;
  onExpired?: () => void;
}

/**
 * AGENT_QUEUE_TIMEOUT_MS: a turn whose agent had no live worker ends with a retryable
 * `queue_timeout` error when no worker took it in time. The error is one fenced append right
 * after the turn's user_message (expected last stream sequence = that message's): if a worker
 * wrote anything first, the append is refused and the worker owns the turn; if the timeout wins,
 * a worker arriving later fails its own fenced write, or reads the turn as finished and acks the
 * job. Either way the log holds exactly one outcome for the turn. The timer lives on the gateway
 * that queued the turn; if that gateway dies, the turn waits for a worker with no timeout.
 */
export class QueueTimeouts {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly d: QueueTimeoutDeps) {}

  arm(t: QueuedTurn): void {
    if (this.d.timeoutMs <= 0) return;
    clearTimeout(this.timers.get(t.sid));
    const timer = setTimeout(() => {
      this.timers.delete(t.sid);
      this.expire(t).catch((err: unknown) =>
        this.d.log.warn({ sid: t.sid, err: String(err) }, 'queue timeout could not be written'),
      );
    }, this.d.timeoutMs);
    timer.unref();
    this.timers.set(t.sid, timer);
  }

  /** Ends the turn unless a worker wrote to it first. Resolves `taken` when the fence refused. */
  async expire(t: QueuedTurn): Promise<'expired' | 'taken'> {
    // A turn the user cancelled while it waited ends as cancelled, as a worker would have ended it.
    const cancelled = (await this.d.registry.get(t.sid))?.cancelRequested === true;
    const base = { sid: t.sid, seq: t.userSeq + 1, ts: Date.now() };
    const ev: SessionEvent = cancelled
      ? { ...base, type: 'cancelled', reason: 'cancelled before start' }
      : {
          ...base,
          type: 'error',
          error: errorBody(
            'queue_timeout',
            `no worker took the turn for agent "${t.agent}" within ${this.d.timeoutMs} ms; retry later`,
            { retryAfterMs: 5_000 },
          ),
        };
    try {
      await this.d.eventLog.append(t.tenant, ev, t.userStreamSeq, this.d.writerId);
    } catch (err) {
      if (err instanceof LogConflictError) return 'taken';
      throw err;
    }
    this.d.onExpired?.();
    this.d.log.info({ sid: t.sid, agent: t.agent }, 'turn timed out in the queue');
    // The job would only make a scaler start a worker for a turn that is over: remove it. A worker
    // that already fetched it reads the turn as finished and acks it.
    if (t.jobStreamSeq !== undefined)
      await this.d.jsm.streams.deleteMessage(jobsStream(t.sid), t.jobStreamSeq, false).catch(() => undefined);
    await this.d.registry
      .update(t.sid, (r) => ({
        ...r,
        state: 'idle',
        lastOutcome: cancelled ? 'cancelled' : 'error',
        cancelRequested: false,
      }))
      .catch(() => undefined);
    return 'expired';
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
