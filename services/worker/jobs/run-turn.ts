import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { publicError } from '../../../shared/errors/public-message.js';
import type { Logger } from '../../../shared/logging/logger.js';
import { refreshSnapshot, type SnapshotStore } from '../../../shared/nats/conversation-snapshots.js';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { userMessagePending } from '../../../shared/nats/job-headers.js';
import type { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { noteSessionLayout, subjects } from '../../../shared/nats/subjects.js';
import {
  applyEvent,
  ControlMessage,
  type Conversation,
  type ConversationSnapshot,
  type EventDraft,
  Job,
  SNAPSHOT_VERSION,
  trimHistory,
} from '../../../shared/protocol/index.js';
import type { Agent, AgentOutput, AskUserRequest, ResumePoint } from '../agents/agent.js';
import { ackPublisherFor, type EventPublisher } from '../publish/ack-publisher.js';
import { TokenCoalescer } from '../publish/coalescer.js';
import { TokenPacer } from '../publish/pacer.js';
import { FencedError, SessionWriter } from '../publish/session-writer.js';
import type { WorkerMetrics } from '../worker-metrics.js';
import { onAbort } from './abort-fanout.js';
import { InputBroker, InputTimeoutError } from './input-broker.js';
import { type AbortReason, timeoutError } from './turn-outcome.js';
import { readTurnState, type TurnState } from './turn-state.js';

export interface TurnDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  /** Event publishes with pipelined acks (default: one shared per connection). */
  publisher?: EventPublisher;
  eventLog: JetStreamEventLog;
  /** Conversation snapshots (absent when CONVERSATION_SNAPSHOTS=off): read before a turn, written after. */
  snapshots?: SnapshotStore;
  registry: SessionRegistry;
  agents: ReadonlyMap<string, Agent>;
  log: Logger;
  metrics: WorkerMetrics;
  workerId: string;
  ackWaitMs: number;
  maxDeliver: number;
  timeoutMs: number;
  maxHistoryTokens: number;
  inputTimeoutMs: number;
  /** Token coalescing and pacing defaults (a session's options override them). */
  coalesce: { bufferSize: number; flushIntervalMs: number; maxTokensPerSecond?: number; maxHoldMs?: number };
  /** Aborted when the worker shuts down: running turns stop without writing (another worker resumes them). */
  shutdown: AbortSignal;
}

const decoder = new TextDecoder();
/** Most appends allowed in flight before the agent is made to wait for the log. */
const MAX_INFLIGHT_APPENDS = 64;

/**
 * Runs one delivery of a job: reads where the session's log stands, runs the agent, streams
 * its output into the log through the single writer, and acknowledges the job only once the
 * turn's terminal event is durable.
 */
export async function runTurn(msg: JsMsg, deps: TurnDeps): Promise<void> {
  const parsed = Job.safeParse(safeJson(msg.data));
  if (!parsed.success) {
    deps.log.error({ issues: parsed.error.issues.slice(0, 5) }, 'invalid job payload: dead-lettered');
    await deadLetter(deps, msg, 'invalid job payload');
    msg.term('invalid job payload');
    return;
  }
  const job = parsed.data;
  if (msg.info.deliveryCount === 1)
    deps.metrics.jobWait.observe(Math.max(0, Date.now() - job.createdAt) / 1000);
  const log = deps.log.child({
    sid: job.sid,
    tenant: job.tenant,
    agent: job.agent,
    delivery: msg.info.deliveryCount,
  });
  const agent = deps.agents.get(job.agent);
  if (!agent) {
    // Another pool may serve it: never expected (consumers filter by agent), so hand it back.
    log.error('no agent for job');
    msg.nak(5_000);
    return;
  }

  const keepAlive = setInterval(() => msg.working(), Math.max(500, Math.floor(deps.ackWaitMs / 3)));
  try {
    await runAgentTurn(msg, job, agent, deps, log);
  } catch (err) {
    // Fenced before the turn got going (its restart lost the race): the job was redelivered while
    // the previous worker was still alive and writing. Leave this delivery unacked; that worker
    // finishes the turn, or the next redelivery continues from the log.
    if (!(err instanceof FencedError)) throw err;
    log.warn({ seq: err.seq }, 'another worker owns the session: this delivery stands down');
  } finally {
    clearInterval(keepAlive);
  }
}

async function runAgentTurn(msg: JsMsg, job: Job, agent: Agent, deps: TurnDeps, log: Logger): Promise<void> {
  // The layout the session lives under: the job names it (P > 1), else a lookup finds it (a no-op
  // while one layout was ever recorded).
  if (job.partitions) noteSessionLayout(job.sid, job.partitions);
  else await deps.registry.locate(job.sid);
  // Both reads at once: every round trip before the first token is time to first token.
  const [first, record] = await Promise.all([
    readTurnState(deps.eventLog, job, deps.snapshots),
    deps.registry.get(job.sid),
  ]);
  let state = first;
  if (state.status === 'needs_user_message' && userMessagePending(msg.headers)) {
    // The gateway appends the message while it queues the job: the job may arrive first. Wait for
    // the gateway's message (writing our own would race it and fence this delivery); only if it
    // never comes (the gateway died between the two) is it written from the job, so no question is lost.
    state = await waitForUserMessage(deps, job, state, log);
  }
  if (state.status === 'finished' || state.status === 'conflict') {
    if (state.status === 'conflict')
      log.error({ turn: job.turn, lastSeq: state.lastSeq }, 'job does not fit the log: dropped');
    else log.info({ lastSeq: state.lastSeq }, 'turn already finished: acking redelivered job');
    await ackDurably(msg, log);
    return;
  }
  const delivery = msg.info.deliveryCount;
  const attempt = Math.max(delivery, state.lastAttempt + (state.status === 'interrupted' ? 1 : 0), 1);
  const writer = new SessionWriter(
    deps.publisher ?? ackPublisherFor(deps.nc),
    deps.eventLog,
    job.tenant,
    job.sid,
    `${deps.workerId}/${delivery}`,
    attempt,
    state.lastSeq,
    state.lastStreamSeq,
    undefined,
    (first) => {
      if (first) log.warn({ code: 'storage_full' }, 'event log out of space: the turn waits for space');
    },
  );
  // The turn-end snapshot: the conversation read at the start plus what this writer stored.
  const fold = { conversation: state.conversation, writer };
  // The user may answer a question of this turn already in the log at any moment (even before
  // our `restart` is written): that `input` is the gateway's, not a rival writer's.
  for (const e of state.current) if (e.type === 'input_request') writer.expectAnswer(e.requestId);
  if (state.status === 'needs_user_message') {
    await writer.append({ type: 'user_message', text: job.input, user: job.user });
  }

  if (delivery > deps.maxDeliver) {
    log.error({ delivery }, 'poison job: dead-lettered');
    // The record first: whoever sees the session's poison_job error can already find it.
    await deadLetter(deps, msg, 'max deliveries exceeded');
    await writer
      .append({
        type: 'error',
        error: {
          code: 'poison_job',
          message: `job failed ${delivery - 1} times; dead-lettered`,
          retryable: false,
        },
      })
      .catch(() => undefined);
    await deps.registry.setState(job.sid, 'idle', { lastOutcome: 'error' }).catch(() => undefined);
    msg.term('poison');
    return;
  }

  if (record?.cancelRequested) {
    await writer.append({ type: 'cancelled', reason: 'cancelled before start' });
    await finish(msg, deps, job, fold, 'cancelled', log);
    return;
  }
  // Over MAX_HISTORY_TOKENS the oldest turns leave the model's view (docs/conversations.md);
  // only an input that alone exceeds it ends the turn.
  const history = trimHistory(state.history, job.input, deps.maxHistoryTokens);
  if (!history) {
    await writer.append({
      type: 'error',
      error: {
        code: 'limit_exceeded',
        message: `the message alone exceeds MAX_HISTORY_TOKENS (${deps.maxHistoryTokens})`,
        retryable: false,
      },
    });
    await finish(msg, deps, job, fold, 'error', log);
    return;
  }
  if (history.length < state.history.length)
    log.info({ dropped: state.history.length - history.length }, 'history trimmed to MAX_HISTORY_TOKENS');

  let resumeFrom: ResumePoint | undefined;
  if (state.status === 'interrupted') {
    resumeFrom =
      agent.canContinue && state.lastTokenIndex !== undefined
        ? { lastTokenIndex: state.lastTokenIndex }
        : undefined;
    await writer.append({
      type: 'restart',
      attempt,
      mode: agent.canContinue ? 'continue' : 'rerun',
      reason: 'worker lost; job redelivered',
    });
    log.warn({ attempt, afterSeq: state.lastSeq }, 'restarting interrupted turn');
  }
  // The state annotation need not delay the model; the final state write waits for it (ordered).
  const running = deps.registry.setState(job.sid, 'running').catch(() => undefined);

  const controller = new AbortController();
  let abortReason: AbortReason | null = null;
  const abort = (r: AbortReason) => {
    if (!abortReason) abortReason = r;
    controller.abort();
  };
  // `controller.signal.aborted` validates its receiver on every read (1 % of a busy worker when
  // read per output): the controller is aborted only here, so the reason says the same.
  const stopped = () => abortReason !== null;
  const ctl = deps.nc.subscribe(subjects.control(job.sid), {
    callback: (_err, m) => {
      const c = ControlMessage.safeParse(safeJson(m.data));
      if (c.success && c.data.type === 'cancel') abort({ kind: 'cancel', reason: c.data.reason });
    },
  });
  const timer = setTimeout(() => abort({ kind: 'timeout' }), deps.timeoutMs);
  const offShutdown = onAbort(deps.shutdown, () => abort({ kind: 'shutdown' }));

  const started = performance.now();
  let tokens = 0;
  let inflight = 0;
  let writeError: unknown = null;
  /** Wakes the agent loop waiting for the log to catch up (backpressure below). */
  let drained: (() => void) | null = null;
  controller.signal.addEventListener('abort', () => drained?.(), { once: true });
  const append = (draft: EventDraft, modelTokens = 0) => {
    inflight++;
    const p = writer.append(draft, modelTokens).finally(() => {
      inflight--;
      if (drained && inflight < MAX_INFLIGHT_APPENDS) {
        drained();
        drained = null;
      }
    });
    p.then(
      () => deps.metrics.events.inc(),
      (err: unknown) => {
        writeError ??= err;
        abort({ kind: err instanceof FencedError ? 'fenced' : 'shutdown' });
      },
    );
    return p;
  };
  const coalescer = new TokenCoalescer(
    {
      bufferSize: job.options.bufferSize ?? deps.coalesce.bufferSize,
      flushIntervalMs: job.options.flushIntervalMs ?? deps.coalesce.flushIntervalMs,
      // Adaptive: while this session's previous event is still being written, a due flush waits
      // (fewer, larger events when the log is the bottleneck; none added when idle).
      maxHoldMs: deps.coalesce.maxHoldMs ?? 0,
    },
    (out, n) => {
      // Assigned, not spread (V8's slow path): this runs once per event.
      const draft: Extract<EventDraft, { type: 'token' }> = { type: 'token', text: out.text };
      if (out.agent) draft.agent = out.agent;
      if (out.index !== undefined) draft.index = out.index;
      void append(draft, n);
    },
    undefined,
    () => inflight > 0,
  );

  const pacer = new TokenPacer(job.options.maxTokensPerSecond ?? deps.coalesce.maxTokensPerSecond ?? 0);

  let finishReason = 'stop';
  let agentError: Extract<AgentOutput, { kind: 'error' }> | null = null;
  try {
    const broker = new InputBroker(
      deps.nc,
      deps.eventLog,
      deps.registry,
      writer,
      job.tenant,
      job.turn,
      state.current,
      deps.inputTimeoutMs,
      controller.signal,
    );
    const askUser = (req: AskUserRequest) => {
      coalescer.flush(); // the question follows everything said before it
      return broker.ask(req);
    };
    for await (const out of agent.run({
      job,
      signal: controller.signal,
      log,
      history,
      askUser,
      ...(resumeFrom ? { resumeFrom } : {}),
    })) {
      if (stopped()) break;
      if (out.kind === 'token') {
        if (tokens === 0)
          deps.metrics.modelLatency.observe({ agent: job.agent }, (performance.now() - started) / 1000);
        if (pacer.enabled && !(await pacer.admit(controller.signal, out.count ?? 1))) break;
        tokens += out.count ?? 1;
        deps.metrics.tokens.inc(out.count ?? 1);
        coalescer.push(out);
        // Backpressure: a model faster than the log waits here instead of queueing without bound.
        // Woken by the write that brings it under the limit (every write settles, stored or failed;
        // a failed one aborts the turn), not by polling: a saturated worker has many turns here.
        while (inflight >= MAX_INFLIGHT_APPENDS && !stopped())
          await new Promise<void>((r) => {
            drained = r;
          });
        continue;
      }
      coalescer.flush();
      if (out.kind === 'finish') finishReason = out.reason;
      else if (out.kind === 'error') agentError = out;
      else void append(toDraft(out));
    }
  } catch (err) {
    if (err instanceof InputTimeoutError) {
      agentError = {
        kind: 'error',
        error: { code: 'input_timeout', message: err.message, retryable: false },
      };
    } else if (!stopped()) {
      // The exception (its message, stack, paths) stays in the worker log with the session id;
      // the client learns only that the agent failed.
      log.error({ err }, 'agent failed');
      agentError = {
        kind: 'error',
        error: {
          code: 'agent_error',
          message: 'the agent failed; the worker log has the details',
          retryable: false,
        },
      };
    }
  } finally {
    clearTimeout(timer);
    ctl.unsubscribe();
    offShutdown();
  }

  const reason = abortReason as AbortReason | null;
  if (reason?.kind === 'fenced' || reason?.kind === 'shutdown') {
    coalescer.dispose();
    log.warn(
      { reason: reason.kind, err: writeError },
      'turn stopped without finishing: another worker will resume it',
    );
    if (reason.kind === 'shutdown' && !writeError) msg.nak(0);
    deps.metrics.jobsTotal.inc({ agent: job.agent, outcome: 'handed_back' });
    return;
  }
  // Flush what the agent produced before the terminal event, so no text is lost on cancel.
  coalescer.flush();
  await running;
  try {
    if (reason?.kind === 'cancel') {
      await append({ type: 'cancelled', ...(reason.reason ? { reason: reason.reason } : {}) });
      await finish(msg, deps, job, fold, 'cancelled', log);
    } else if (reason?.kind === 'timeout') {
      await append({ type: 'error', error: timeoutError(deps.timeoutMs) });
      await finish(msg, deps, job, fold, 'error', log);
    } else if (agentError) {
      deps.metrics.upstreamErrors.inc({ agent: job.agent, code: agentError.error.code });
      // Agents' own error texts (a provider's message, a connection error) may name internal
      // addresses or paths: the log keeps them, the event carries the redacted text.
      log.warn({ error: agentError.error }, 'turn ended with an error');
      await append({ type: 'error', error: publicError(agentError.error) });
      await finish(msg, deps, job, fold, 'error', log);
    } else {
      await append({
        type: 'done',
        finishReason,
        tokens,
        durationMs: Math.round(performance.now() - started),
      });
      await finish(msg, deps, job, fold, 'done', log);
    }
    deps.metrics.jobDuration.observe({ agent: job.agent }, (performance.now() - started) / 1000);
  } catch (err) {
    log.warn({ err }, 'could not write the terminal event: leaving the job for redelivery');
  }
}

/** How long a worker waits for the user message a job says is on its way before writing it itself. */
const USER_MESSAGE_WAIT_MS = 5_000;

async function waitForUserMessage(
  deps: TurnDeps,
  job: Job,
  state: TurnState,
  log: Logger,
): Promise<TurnState> {
  const deadline = Date.now() + USER_MESSAGE_WAIT_MS;
  for (let delay = 2; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    await new Promise((r) => setTimeout(r, delay));
    // From the leader: where this writer starts must never come from a replica behind it.
    const last = await deps.eventLog.last(job.tenant, job.sid, { fromLeader: true }).catch(() => null);
    if (last && last.streamSeq > state.lastStreamSeq) {
      // The usual case, a new session's first turn: the log is exactly the gateway's message, so
      // the state is known without reading the log again (a round trip before the first token).
      if (job.turn === 1 && last.event.seq === 1 && last.event.type === 'user_message' && state.lastSeq === 0)
        return {
          ...state,
          status: 'fresh',
          history: [],
          current: [],
          lastSeq: 1,
          lastStreamSeq: last.streamSeq,
        };
      const next = await readTurnState(deps.eventLog, job, deps.snapshots);
      if (next.status !== 'needs_user_message') return next;
      state = next;
    }
  }
  log.warn(
    { turn: job.turn },
    'the gateway did not append the user message in time: writing it from the job',
  );
  return state;
}

function toDraft(out: Exclude<AgentOutput, { kind: 'token' | 'finish' | 'error' }>): EventDraft {
  const { kind, ...rest } = out;
  return { type: kind, ...rest } as EventDraft;
}

async function finish(
  msg: JsMsg,
  deps: TurnDeps,
  job: Job,
  fold: { conversation: Conversation; writer: SessionWriter },
  outcome: 'done' | 'error' | 'cancelled',
  log: Logger,
): Promise<void> {
  // The snapshot before the session goes idle, so the next turn (queued only once it is idle)
  // finds it; a failure costs only a longer read next time.
  if (deps.snapshots) {
    const snap = foldedSnapshot(job, fold.conversation, fold.writer);
    await (snap
      ? deps.snapshots.put(snap)
      : refreshSnapshot(deps.eventLog, deps.snapshots, job.tenant, job.sid)
    ).catch((err: unknown) => log.warn({ err }, 'conversation snapshot not written'));
  }
  await deps.registry
    .setState(job.sid, 'idle', { lastOutcome: outcome, cancelRequested: false })
    .catch((err: unknown) => log.warn({ err }, 'registry update failed'));
  await ackDurably(msg, log);
  deps.metrics.jobsTotal.inc({ agent: job.agent, outcome });
  log.info({ outcome }, 'turn finished');
}

/**
 * The turn-end snapshot without reading the turn back from the log: the conversation read at the
 * turn's start with every event this writer stored folded on, in order. Every write was fenced on
 * the previous one's stream position, so these are exactly the log's events after the start, and
 * the fold is the one a reader of the log would compute. Reading them back instead cost the
 * broker a scan of every other session's events interleaved with them (the stream's per-subject
 * index has no "next of this subject"): about half of nats-server's CPU at 1,000 streams.
 * Null (read the log instead) when another party's event lies between them.
 */
function foldedSnapshot(job: Job, start: Conversation, writer: SessionWriter): ConversationSnapshot | null {
  const events = writer.storedEvents();
  if (!events || events.length === 0 || writer.lastStreamSequence < 1) return null;
  if (events[0]!.seq !== start.lastSeq + 1 || events.at(-1)!.seq !== writer.lastSeq) return null;
  const conversation = structuredClone(start);
  // As parsed from the log: a message event's role defaults to 'assistant' (MessageEvent).
  for (const ev of events)
    applyEvent(
      conversation,
      ev.type === 'message' && ev.role === undefined ? { ...ev, role: 'assistant' } : ev,
    );
  return {
    v: SNAPSHOT_VERSION,
    tenant: job.tenant,
    sid: job.sid,
    seq: writer.lastSeq,
    streamSeq: writer.lastStreamSequence,
    writtenAt: Date.now(),
    conversation,
  };
}

async function ackDurably(msg: JsMsg, log: Logger): Promise<void> {
  try {
    await msg.ackAck({ expect: 5_000 } as never);
  } catch (err) {
    // The terminal event is in the log, so a redelivery will just see it and ack.
    log.warn({ err }, 'ack not confirmed');
  }
}

async function deadLetter(deps: TurnDeps, msg: JsMsg, reason: string): Promise<void> {
  const agent = msg.subject.split('.').pop() ?? 'unknown';
  await deps.js
    .publish(subjects.deadLetter(agent), msg.data, {
      headers: deadLetterHeaders(reason, msg.info.deliveryCount),
    })
    .catch((err: unknown) => deps.log.error({ err }, 'dead-letter publish failed'));
}

function deadLetterHeaders(reason: string, deliveries: number) {
  const h = headers();
  h.set('Sf-Dead-Reason', reason);
  h.set('Sf-Deliveries', String(deliveries));
  return h;
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}
