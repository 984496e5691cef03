import { describe, expect, it } from 'vitest';
import { ServerFrame } from '../../shared/protocol/server-frames.js';
import { parseServerFrame } from './wire.js';

// The hand-written checks must accept what the zod schema accepts and reject what the client
// would trip on. Frames are written as the gateway and the worker produce them.
const base = { sid: 's_abcdefgh', ts: 1_700_000_000_000 };
const valid: Record<string, unknown>[] = [
  { type: 'welcome', protocol: 1, gateway: 'g-1', heartbeatMs: 15_000 },
  { type: 'reply', id: 1, op: 'start', ok: true, sid: 's_abcdefgh' },
  { type: 'reply', op: 'resume', ok: false, error: { code: 'expired', message: 'gone', retryable: false } },
  { type: 'heartbeat', ts: 1 },
  { type: 'pong', id: 'p', ts: 1 },
  { type: 'goaway', reason: 'drain', reconnectAfterMs: 0 },
  { ...base, seq: 1, type: 'token', text: 'Hi', index: 0 },
  { ...base, seq: 2, type: 'token', text: ' there', agent: 'critic', attempt: 2 },
  { ...base, seq: 3, type: 'message', agent: 'writer', text: 'Hi there', role: 'assistant' },
  { ...base, seq: 4, type: 'tool_call', id: 't1', name: 'search', arguments: '{}' },
  { ...base, seq: 5, type: 'tool_result', id: 't1', result: 'ok', isError: false },
  { ...base, seq: 6, type: 'usage', promptTokens: 1, completionTokens: 2, totalTokens: 3 },
  { ...base, seq: 7, type: 'restart', attempt: 2, mode: 'rerun', reason: 'worker lost' },
  { ...base, seq: 8, type: 'done', finishReason: 'stop', tokens: 2, durationMs: 12.5 },
  { ...base, seq: 9, type: 'error', error: { code: 'agent_error', message: 'boom', retryable: false } },
  { ...base, seq: 10, type: 'cancelled', reason: 'user' },
  { ...base, seq: 11, type: 'user_message', text: 'more' },
  { ...base, seq: 12, type: 'input_request', requestId: 'r', prompt: 'ok?' },
  { ...base, seq: 13, type: 'input', requestId: 'r', text: 'yes' },
];
const invalid: unknown[] = [
  'not an object',
  [1, 2],
  { type: 'welcome', protocol: 1, gateway: 'g' },
  { type: 'reply', op: 'start' },
  { type: 'goaway', reason: 'x', reconnectAfterMs: -1 },
  { ...base, seq: 0, type: 'token', text: 'x' },
  { ...base, seq: 1.5, type: 'token', text: 'x' },
  { ...base, seq: 1, type: 'token' },
  { ...base, seq: 1, type: 'token', text: 3 },
  { sid: 's_abcdefgh', seq: 1, type: 'token', text: 'no ts' },
  { ...base, seq: 1, type: 'done', finishReason: 'stop' },
  { ...base, seq: 1, type: 'error', error: { code: 'x' } },
  { ...base, seq: 1, type: 'restart', attempt: 2, mode: 'sideways', reason: 'x' },
  { ...base, seq: 1, type: 'message', text: 'no agent' },
];

describe('client wire - light frame checks agree with the zod schemas', () => {
  it.each(valid.map((f) => [f.type, f]))('accepts a valid %s frame', (_type, frame) => {
    expect(ServerFrame.safeParse(frame).success).toBe(true);
    const parsed = parseServerFrame(JSON.stringify(frame));
    expect(parsed).not.toBeNull();
    expect(parsed!.kind).toBe('seq' in (frame as object) ? 'event' : 'control');
  });

  it.each(invalid.map((f, i) => [i, f]))('rejects malformed frame #%s like the schema does', (_i, frame) => {
    expect(ServerFrame.safeParse(frame).success).toBe(false);
    expect(parseServerFrame(JSON.stringify(frame))).toBeNull();
  });

  it('rejects text that is not JSON without throwing', () => {
    expect(parseServerFrame('{nope')).toBeNull();
    expect(parseServerFrame('')).toBeNull();
  });

  it('passes events of unknown future types through, so seq stays contiguous on old clients', () => {
    const parsed = parseServerFrame(JSON.stringify({ ...base, seq: 1, type: 'hologram', data: 1 }));
    expect(parsed?.kind).toBe('event');
  });
});
