import type { SessionEvent } from '../../../shared/protocol/index.js';
import type {
  SeedCompletionEvent,
  SeedErrorEvent,
  SeedTokenEvent,
} from '../../../shared/protocol/seed-socket-io.js';

/** One Socket.IO emit: the seed's event name and its payload. */
export type SeedEmit = [name: string, payload: object];

/** What a socket remembers about the stream it follows, to fill the seed's counters. */
export interface SeedStreamCounters {
  /** Model tokens delivered so far (the seed's `tokens_sent`). */
  tokensSent: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Translates one fabric event into the seed's Socket.IO emits (pure: the door sends them).
 * `token` becomes `stream_event` {type: "token", token, position, ...}; `done` becomes
 * `stream_event` + `stream_completed` {type: "completion", total_tokens, duration}; `error`
 * becomes `stream_event` + `stream_error`; `cancelled` becomes `stream_stopped`. The user's
 * own messages are not echoed (the seed never did); other fabric events (tool calls, agent
 * messages, usage, restart) pass as `stream_event` with their fields under `metadata`, which
 * seed clients that switch on `type` ignore. `position` is the event's `seq` in the log.
 */
export function seedEmits(ev: SessionEvent, c: SeedStreamCounters): SeedEmit[] {
  const base = { session_id: ev.sid, timestamp: iso(ev.ts) };
  switch (ev.type) {
    case 'token': {
      // `index` is the last model token in this (possibly coalesced) event: the exact count.
      c.tokensSent = ev.index !== undefined ? ev.index + 1 : c.tokensSent + 1;
      const e: SeedTokenEvent = {
        type: 'token',
        session_id: ev.sid,
        token: ev.text,
        position: ev.seq,
        timestamp: base.timestamp,
        metadata: ev.agent ? { agent: ev.agent } : {},
      };
      return [['stream_event', e]];
    }
    case 'done': {
      c.tokensSent = ev.tokens;
      const e: SeedCompletionEvent = {
        type: 'completion',
        ...base,
        total_tokens: ev.tokens,
        duration: ev.durationMs / 1000,
        position: ev.seq,
      };
      return [
        ['stream_event', e],
        ['stream_completed', e],
      ];
    }
    case 'error': {
      const e: SeedErrorEvent = {
        type: 'error',
        ...base,
        error: ev.error.message,
        code: ev.error.code,
        retryable: ev.error.retryable,
        position: ev.seq,
      };
      return [
        ['stream_event', e],
        ['stream_error', e],
      ];
    }
    case 'cancelled':
      return [['stream_stopped', { session_id: ev.sid, position: ev.seq }]];
    case 'user_message':
    case 'input':
      return [];
    default: {
      // Log bookkeeping (attempt, prevPos) stays out: the payload is the event's own fields.
      const { sid: _s, seq: _q, ts: _t, type, attempt: _a, prevPos: _p, ...rest } = ev;
      return [['stream_event', { type, ...base, position: ev.seq, metadata: rest }]];
    }
  }
}
