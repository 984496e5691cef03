import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../../shared/protocol/index.js';
import { seedEmits } from './seed-events.js';

const base = { sid: 's_abcdefgh', ts: Date.UTC(2026, 11, 6, 12, 0, 0), attempt: 1, prevPos: 7 };
const at = '2026-12-06T12:00:00.000Z';

describe('seed events - fabric events as the seed emitted them', () => {
  it('maps token, done, error and cancelled to the seed event names and payloads', () => {
    const c = { tokensSent: 0 };
    const emits = (ev: SessionEvent) => seedEmits(ev, c);
    expect(emits({ ...base, seq: 2, type: 'token', text: 'Hello world', index: 1 })).toEqual([
      [
        'stream_event',
        {
          type: 'token',
          session_id: 's_abcdefgh',
          token: 'Hello world',
          position: 2,
          timestamp: at,
          metadata: {},
        },
      ],
    ]);
    expect(c.tokensSent).toBe(2); // index of the last coalesced token + 1
    expect(emits({ ...base, seq: 3, type: 'token', text: '!', agent: 'writer' })[0]![1]).toMatchObject({
      metadata: { agent: 'writer' },
    });
    expect(c.tokensSent).toBe(3);
    const done = {
      type: 'completion',
      session_id: 's_abcdefgh',
      timestamp: at,
      total_tokens: 40,
      duration: 1.5,
      position: 4,
    };
    expect(
      emits({ ...base, seq: 4, type: 'done', finishReason: 'stop', tokens: 40, durationMs: 1500 }),
    ).toEqual([
      ['stream_event', done],
      ['stream_completed', done],
    ]);
    const failed = emits({
      ...base,
      seq: 5,
      type: 'error',
      error: { code: 'upstream_timeout', message: 'the model went quiet', retryable: true },
    });
    expect(failed.map(([n]) => n)).toEqual(['stream_event', 'stream_error']);
    expect(failed[1]![1]).toEqual({
      type: 'error',
      session_id: 's_abcdefgh',
      timestamp: at,
      error: 'the model went quiet',
      code: 'upstream_timeout',
      retryable: true,
      position: 5,
    });
    expect(emits({ ...base, seq: 6, type: 'cancelled', reason: 'x' })).toEqual([
      ['stream_stopped', { session_id: 's_abcdefgh', position: 6 }],
    ]);
  });

  it("skips the user's own messages and passes other events with their fields as metadata", () => {
    const c = { tokensSent: 0 };
    expect(seedEmits({ ...base, seq: 1, type: 'user_message', text: 'hi', user: 'u' }, c)).toEqual([]);
    expect(
      seedEmits({ ...base, seq: 2, type: 'tool_call', id: 'c1', name: 'get_weather', arguments: '{}' }, c),
    ).toEqual([
      [
        'stream_event',
        {
          type: 'tool_call',
          session_id: 's_abcdefgh',
          timestamp: at,
          position: 2,
          metadata: { id: 'c1', name: 'get_weather', arguments: '{}' },
        },
      ],
    ]);
  });
});
