import { ClientFrame, ErrorBody, ReplyFrame, SessionEvent } from '../../shared/protocol/index.js';
import type { WsInput } from './arbitraries.js';
import type { WsOutcome } from './ws-lane.js';

/**
 * Close codes a gateway may use: the standard ones (RFC 6455) and the fabric's documented
 * 4000-4199 range. 1006 (no close frame) is only acceptable for protocol-level garbage, where
 * uWebSockets.js drops the TCP connection itself.
 */
export function isStandardClose(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 4000 && code < 4200);
}

/**
 * Judges one WebSocket input: a frame within the size limit must get exactly one typed answer
 * and the connection must stay open; an oversized frame must be closed with 1009; a text frame
 * that is not UTF-8 must be closed (uWS drops it, 1006). Every frame the gateway sent must be
 * JSON that the protocol schemas accept. Returns the problem, or null when the answer is right.
 */
export function judgeWs(input: WsInput, outcome: WsOutcome, maxFrameBytes: number): string | null {
  for (const f of outcome.frames) {
    const bad = checkServerFrame(f);
    if (bad) return bad;
  }
  const size = input.kind === 'text' ? Buffer.byteLength(input.data) : input.data.byteLength;
  if (input.kind === 'bad-utf8') return outcome.kind === 'closed' ? null : 'invalid UTF-8 was not refused';
  if (size > maxFrameBytes) {
    if (outcome.kind !== 'closed') return `a ${size}-byte frame was not closed`;
    return outcome.code === 1009 ? null : `a ${size}-byte frame was closed with ${outcome.code}, not 1009`;
  }
  if (outcome.kind === 'closed')
    return isStandardClose(outcome.code) && outcome.code !== 1000
      ? null
      : `closed with ${outcome.code} "${outcome.reason}" instead of an answer`;
  if (outcome.kind === 'silent') return 'no answer within the timeout';
  const answer = outcome.answer;
  if (answer.type === 'pong') return isValidPing(input) ? null : 'pong for something that is not a ping';
  const reply = ReplyFrame.safeParse(answer);
  if (!reply.success) return `reply does not match the schema: ${JSON.stringify(answer).slice(0, 200)}`;
  if (!reply.data.ok && !ErrorBody.safeParse(reply.data.error).success)
    return 'error reply without a typed error';
  if (reply.data.ok && !isValidFrame(input)) return `accepted an invalid frame: ${preview(input)}`;
  return null;
}

/** Every server frame is a control frame or a session event, never garbage. */
function checkServerFrame(f: unknown): string | null {
  const o = f as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || '__unparseable' in o)
    return `server sent a non-JSON frame: ${JSON.stringify(f)}`;
  if (typeof o.seq === 'number')
    return SessionEvent.safeParse(o).success ? null : `malformed event: ${JSON.stringify(o).slice(0, 200)}`;
  if (o.type === 'reply' && !ReplyFrame.safeParse(o).success) return `malformed reply: ${JSON.stringify(o)}`;
  return ['welcome', 'reply', 'pong', 'heartbeat', 'goaway'].includes(String(o.type))
    ? null
    : `unknown server frame: ${JSON.stringify(o).slice(0, 200)}`;
}

function parsed(input: WsInput): unknown {
  if (input.kind !== 'text') return undefined;
  try {
    return JSON.parse(input.data);
  } catch {
    return undefined;
  }
}

function isValidFrame(input: WsInput): boolean {
  return ClientFrame.safeParse(parsed(input)).success;
}

function isValidPing(input: WsInput): boolean {
  const f = ClientFrame.safeParse(parsed(input));
  return f.success && f.data.type === 'ping';
}

export function preview(input: WsInput, max = 300): string {
  const s = input.kind === 'text' ? input.data : Buffer.from(input.data).toString('hex');
  return `${input.kind}:${s.slice(0, max)}${s.length > max ? `... (${s.length} chars)` : ''}`;
}
