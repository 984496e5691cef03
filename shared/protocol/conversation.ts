import type { SessionEvent } from './events.js';

/** A question an agent asked the user within a turn, and the answer once given. */
export interface InputExchange {
  requestId: string;
  prompt: string;
  options?: string[];
  deadline?: number;
  agent?: string;
  answer?: string;
  /** seq of the `input_request` event. */
  seq: number;
}

/** One turn of a conversation: the user's message and everything the agents produced for it. */
export interface ConversationTurn {
  turn: number;
  user: string;
  /** Streamed answer text of the current attempt (a `restart` in rerun mode clears it). */
  assistant: string;
  /** Complete agent messages (multi-agent teams), in order, with the role the agent gave. */
  messages: { agent: string; text: string; role?: string }[];
  inputs: InputExchange[];
  outcome?: 'done' | 'error' | 'cancelled';
  /** The `done` event's finishReason ("handoff" when a team handed the turn back to the user). */
  finishReason?: string;
  /** seq of the turn's `user_message` (0 for a log that started without one). */
  startSeq: number;
}

/** A conversation as the log defines it: rebuilt from events alone, on any machine. */
export interface Conversation {
  turns: ConversationTurn[];
  lastSeq: number;
}

/** An empty conversation, to fold events into. */
export function emptyConversation(): Conversation {
  return { turns: [], lastSeq: 0 };
}

function currentTurn(c: Conversation, ev: SessionEvent): ConversationTurn {
  let t = c.turns.at(-1);
  if (!t || (t.outcome && ev.type !== 'user_message')) {
    // Output with no user_message before it (a log written by an older producer): open a turn.
    t = { turn: c.turns.length + 1, user: '', assistant: '', messages: [], inputs: [], startSeq: 0 };
    c.turns.push(t);
  }
  return t;
}

/**
 * Applies one event to a conversation (mutates and returns it). This is the one definition of
 * "what a log means", shared by workers (to rebuild history), gateways and clients.
 */
export function applyEvent(c: Conversation, ev: SessionEvent): Conversation {
  c.lastSeq = ev.seq;
  if (ev.type === 'user_message') {
    c.turns.push({
      turn: c.turns.length + 1,
      user: ev.text,
      assistant: '',
      messages: [],
      inputs: [],
      startSeq: ev.seq,
    });
    return c;
  }
  const t = currentTurn(c, ev);
  switch (ev.type) {
    case 'token':
      t.assistant += ev.text;
      break;
    case 'message':
      t.messages.push({ agent: ev.agent, text: ev.text, role: ev.role });
      break;
    case 'restart':
      if (ev.mode === 'rerun') {
        t.assistant = '';
        t.messages = [];
      }
      break;
    case 'input_request':
      t.inputs.push({
        requestId: ev.requestId,
        prompt: ev.prompt,
        seq: ev.seq,
        ...(ev.options ? { options: ev.options } : {}),
        ...(ev.deadline !== undefined ? { deadline: ev.deadline } : {}),
        ...(ev.agent ? { agent: ev.agent } : {}),
      });
      break;
    case 'input': {
      const req = t.inputs.find((i) => i.requestId === ev.requestId);
      if (req) req.answer = ev.text;
      break;
    }
    case 'done':
      t.outcome = 'done';
      t.finishReason = ev.finishReason;
      break;
    case 'error':
    case 'cancelled':
      t.outcome = ev.type;
      break;
    default:
      break;
  }
  return c;
}

/** Folds a whole log. */
export function foldConversation(events: Iterable<SessionEvent>): Conversation {
  const c = emptyConversation();
  for (const ev of events) applyEvent(c, ev);
  return c;
}

/** The unanswered question of the last turn, if the conversation is waiting for the user. */
export function pendingInput(c: Conversation): InputExchange | null {
  const t = c.turns.at(-1);
  if (!t || t.outcome) return null;
  return t.inputs.find((i) => i.answer === undefined) ?? null;
}

/** The text an agent said in a turn: its complete messages if any, else the streamed text. */
export function assistantText(t: ConversationTurn): string {
  return t.messages.length > 0 ? t.messages.map((m) => m.text).join('\n') : t.assistant;
}

/** Rough token estimate of a conversation (4 characters per token), used for history limits and usage. */
export function estimateTokens(turns: ConversationTurn[], input: string): number {
  let chars = input.length;
  for (const t of turns) chars += t.user.length + assistantText(t).length;
  return Math.ceil(chars / 4);
}

/**
 * The history a turn gives its agent under MAX_HISTORY_TOKENS: the most recent whole turns that
 * fit with the new input, oldest dropped first (a sliding window; the log and the snapshot keep
 * every turn, only the model's view is trimmed). Null when the input alone does not fit.
 */
export function trimHistory(
  turns: ConversationTurn[],
  input: string,
  maxTokens: number,
): ConversationTurn[] | null {
  if (estimateTokens([], input) > maxTokens) return null;
  let from = 0;
  while (from < turns.length && estimateTokens(turns.slice(from), input) > maxTokens) from++;
  return from === 0 ? turns : turns.slice(from);
}
