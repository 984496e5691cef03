import { builtinTokens } from '../../services/worker/agents/builtin-model.js';

/** One event of a baseline session, without its `ts` (stamped when it is sent). */
export interface BaselineEvent {
  type: 'token' | 'done';
  text?: string;
  index?: number;
  finishReason?: 'stop';
  tokens?: number;
  durationMs?: number;
  sid: string;
  seq: number;
  attempt: 1;
}

/**
 * The built-in model's tokens for a session, coalesced as the fabric's worker does: the tokens
 * of one flush interval per event (at least one), seq from 1, then `done`. The baselines that do
 * not sit behind the workers (raw uWS, Centrifugo) replay these on the same timing.
 */
export function coalescedEvents(
  sid: string,
  seed: number,
  length: number,
  tps: number,
  flushMs: number,
  minFlushMs: number,
): BaselineEvent[] {
  const tokens = builtinTokens(seed, length);
  const perEvent = Math.max(1, Math.round((tps * Math.max(flushMs, minFlushMs)) / 1000));
  const events: BaselineEvent[] = [];
  let seq = 0;
  for (let i = 0; i < tokens.length; i += perEvent) {
    const text = tokens.slice(i, i + perEvent).join('');
    const index = Math.min(i + perEvent, tokens.length) - 1;
    events.push({ type: 'token', text, index, sid, seq: ++seq, attempt: 1 });
  }
  events.push({
    type: 'done',
    finishReason: 'stop',
    tokens: tokens.length,
    durationMs: 0,
    sid,
    seq: ++seq,
    attempt: 1,
  });
  return events;
}
