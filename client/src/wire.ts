import type { SessionEvent } from '../../shared/protocol/events.js';
import type { ControlFrame } from '../../shared/protocol/server-frames.js';

/**
 * Structural checks of server frames, written by hand instead of with the zod schemas: the
 * schemas (and zod) would add ~60 KB gzipped to the browser bundle. The gateway forwards events
 * exactly as the worker stored them after validating them with zod, so the client only checks
 * what it relies on: the envelope (`sid`, contiguous `seq`) and the fields it reads. A test
 * (wire.test.ts) checks these functions against the zod schemas on valid and invalid frames.
 */

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const optStr = (v: unknown) => v === undefined || isStr(v);

function isErrorBody(v: unknown): boolean {
  return isObj(v) && isStr(v.code) && isStr(v.message) && typeof v.retryable === 'boolean';
}

/** Per-type checks of the fields the client and its users read. Unknown types pass (forward compatible). */
const EVENT_FIELDS: Partial<Record<string, (e: Json) => boolean>> = {
  token: (e) => isStr(e.text) && optStr(e.agent),
  message: (e) => isStr(e.agent) && isStr(e.text),
  tool_call: (e) => isStr(e.id) && isStr(e.name) && isStr(e.arguments),
  tool_result: (e) => isStr(e.id) && isStr(e.result),
  usage: (e) => isInt(e.promptTokens) && isInt(e.completionTokens) && isInt(e.totalTokens),
  done: (e) => isStr(e.finishReason) && isInt(e.tokens) && isNum(e.durationMs),
  error: (e) => isErrorBody(e.error),
  restart: (e) => (e.mode === 'rerun' || e.mode === 'continue') && isInt(e.attempt),
  cancelled: (e) => optStr(e.reason),
  user_message: (e) => isStr(e.text),
  input_request: (e) => isStr(e.requestId) && isStr(e.prompt),
  input: (e) => isStr(e.requestId) && isStr(e.text),
};

const CONTROL_FIELDS: Record<ControlFrame['type'], (f: Json) => boolean> = {
  welcome: (f) => isInt(f.protocol) && isStr(f.gateway) && isInt(f.heartbeatMs) && f.heartbeatMs > 0,
  reply: (f) => isStr(f.op) && typeof f.ok === 'boolean' && (f.error === undefined || isErrorBody(f.error)),
  pong: (f) => isNum(f.ts),
  heartbeat: (f) => isNum(f.ts),
  goaway: (f) => isStr(f.reason) && isInt(f.reconnectAfterMs) && f.reconnectAfterMs >= 0,
};

/** A parsed server frame: a session event or a control frame; `null` when malformed. */
export type ParsedFrame = { kind: 'event'; event: SessionEvent } | { kind: 'control'; frame: ControlFrame };

/** Checks a decoded JSON value as a session event (envelope + the fields of its type). */
export function asSessionEvent(v: unknown): SessionEvent | null {
  if (!isObj(v) || !isStr(v.type) || !isStr(v.sid) || !isInt(v.seq) || v.seq < 1 || !isNum(v.ts)) return null;
  const check = EVENT_FIELDS[v.type];
  return !check || check(v) ? (v as unknown as SessionEvent) : null;
}

/** Parses one text frame from the gateway. Never throws. */
export function parseServerFrame(text: string): ParsedFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(v) || !isStr(v.type)) return null;
  if (v.seq !== undefined) {
    const event = asSessionEvent(v);
    return event ? { kind: 'event', event } : null;
  }
  const check = CONTROL_FIELDS[v.type as ControlFrame['type']];
  return check?.(v) ? { kind: 'control', frame: v as unknown as ControlFrame } : null;
}

/** Whether an event ends the current turn. */
export function isTerminalEvent(ev: { type: string }): boolean {
  return ev.type === 'done' || ev.type === 'error' || ev.type === 'cancelled';
}
