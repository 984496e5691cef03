import { readConversation, type SnapshotStore } from '../../../shared/nats/conversation-snapshots.js';
import type { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import type { Conversation, ConversationTurn, Job, SessionEvent } from '../../../shared/protocol/index.js';

/** Where a job's turn stands in the session's log, read when a delivery begins. */
export interface TurnState {
  /**
   * `finished`: the turn already has a terminal event (or a later turn exists): just ack.
   * `fresh`: nothing of the turn is in the log yet beyond the user's message.
   * `interrupted`: a previous attempt wrote part of the turn and was lost.
   * `needs_user_message`: the job's message is not in the log yet (a producer that queued a job
   *   without writing it): the worker writes it first.
   * `conflict`: the log does not fit the job (e.g. turn 3 queued while turn 1 is the last one).
   */
  status: 'finished' | 'fresh' | 'interrupted' | 'needs_user_message' | 'conflict';
  /** The turns before this one: the conversation history the agent sees. */
  history: ConversationTurn[];
  /** Events of this turn after its user message. */
  current: SessionEvent[];
  lastSeq: number;
  lastStreamSeq: number;
  /** Highest attempt number among this turn's events (0 when none). */
  lastAttempt: number;
  /** Index of the last model token of this turn in the log, for deterministic continuation. */
  lastTokenIndex?: number;
  /**
   * The conversation folded up to `lastSeq` (read-only: `history` shares its turns). The worker
   * folds its own writes onto a copy for the turn-end snapshot instead of reading the turn back.
   */
  conversation: Conversation;
}

/**
 * Rebuilds the turn's state from the log alone (never from a worker's memory): the conversation
 * snapshot plus the log after it when there is a valid one (docs/conversations.md), else every event.
 */
export async function readTurnState(
  log: JetStreamEventLog,
  job: Job,
  snapshots?: SnapshotStore,
): Promise<TurnState> {
  // Where this writer starts must come from the stream leader: a direct get may be answered by an
  // R3 replica slightly behind it. Read the log until it reaches the leader's last event.
  // Snapshots are written when a turn ends, so a turn-1 job has none to read unless turn 1 already
  // ended, which the full log (one read, usually just the user message) shows as well: skip the
  // snapshot get, a round trip in series before the log read and so before the first token.
  const store = job.turn === 1 ? undefined : snapshots;
  const [leaderLast, first] = await Promise.all([
    log.last(job.tenant, job.sid, { fromLeader: true }),
    readConversation(log, store, job.tenant, job.sid),
  ]);
  const target = leaderLast?.event.seq ?? 0;
  let read = first;
  for (let tries = 0; read.lastSeq < target; tries++) {
    if (tries >= 50) throw new Error(`log read stopped before the leader's last event ${target}`);
    await new Promise((r) => setTimeout(r, 100));
    read = await readConversation(log, store, job.tenant, job.sid);
  }
  const turn = read.conversation.turns[job.turn - 1];
  if (turn && !turn.outcome && read.fromSnapshotSeq >= turn.startSeq) {
    // The snapshot covers part of this unfinished turn: its events are needed one by one (attempts,
    // token indexes), so read them all. Snapshots are written at turn ends, so this is rare.
    read = await readConversation(log, undefined, job.tenant, job.sid);
  }
  return {
    ...decide(read.conversation.turns, read.events, read.lastSeq, read.lastStreamSeq, job),
    conversation: read.conversation,
  };
}

function decide(
  turns: ConversationTurn[],
  events: SessionEvent[],
  lastSeq: number,
  lastStreamSeq: number,
  job: Job,
): Omit<TurnState, 'conversation'> {
  const base = { lastSeq, lastStreamSeq, lastAttempt: 0, current: [] as SessionEvent[] };
  if (turns.length < job.turn) {
    const prev = turns.at(-1);
    const ready = turns.length === job.turn - 1 && (!prev || prev.outcome !== undefined);
    return { ...base, status: ready ? 'needs_user_message' : 'conflict', history: turns };
  }
  const turn = turns[job.turn - 1]!;
  const history = turns.slice(0, job.turn - 1);
  if (turns.length > job.turn || turn.outcome) return { ...base, status: 'finished', history };
  const current = events.filter((e) => e.seq > turn.startSeq);
  let lastAttempt = 0;
  let lastTokenIndex: number | undefined;
  for (const e of current) {
    lastAttempt = Math.max(lastAttempt, e.attempt ?? 0);
    if (e.type === 'token' && e.index !== undefined) lastTokenIndex = e.index;
  }
  return {
    ...base,
    status: current.length > 0 ? 'interrupted' : 'fresh',
    history,
    current,
    lastAttempt,
    ...(lastTokenIndex !== undefined ? { lastTokenIndex } : {}),
  };
}
