import { describe, expect, it } from 'vitest';
import type { EventDraft, SessionEvent } from '../../../shared/protocol/index.js';
import { ResponseProjection, type ResponsesEvent, SEQ_STRIDE } from './responses-events.js';
import { parseResponseId, responseIdOf } from './responses-schema.js';

const sid = 's_test_session_1';
/** A log from drafts: seq from 1, contiguous. */
const log = (...drafts: EventDraft[]): SessionEvent[] =>
  drafts.map((d, i) => ({ ...d, sid, seq: i + 1, ts: 1_700_000_000_000 + i }) as SessionEvent);
const project = (events: SessionEvent[], startSeq = 1) => {
  const p = new ResponseProjection({
    id: responseIdOf({ sid, startSeq }),
    startSeq,
    model: 'builtin',
    instructions: null,
    previousResponseId: null,
  });
  const out: ResponsesEvent[] = events.flatMap((e) => p.apply(e));
  return { p, out, types: out.map((e) => `${e.sequence_number} ${e.type}`) };
};

const turn = log(
  { type: 'user_message', text: 'hi' },
  { type: 'token', text: 'Hel' },
  { type: 'token', text: 'lo' },
  { type: 'usage', promptTokens: 3, completionTokens: 2, totalTokens: 5 },
  { type: 'done', finishReason: 'stop', tokens: 2, durationMs: 1 },
);

describe('responses events - the fabric log as Responses events', () => {
  it('maps a turn to the Responses sequence, numbered seq * 16 + k', () => {
    const { p, types, out } = project(turn);
    expect(types).toEqual([
      '16 response.created',
      '17 response.in_progress',
      '32 response.output_item.added',
      '33 response.content_part.added',
      '34 response.output_text.delta',
      '48 response.output_text.delta',
      '80 response.output_text.done',
      '81 response.content_part.done',
      '82 response.output_item.done',
      '83 response.completed',
    ]);
    for (const e of out) expect(Math.floor(e.sequence_number / SEQ_STRIDE)).toBeGreaterThanOrEqual(1);
    expect(p.ended).toBe(true);
    expect(p.response()).toMatchObject({
      status: 'completed',
      output: [{ type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'Hello' }] }],
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
    });
  });

  it('is deterministic: rendering again and skipping <= n gives exactly the rest, for every n', () => {
    const all = project(turn).out;
    for (const cut of all) {
      const rest = project(turn).out.filter((e) => e.sequence_number > cut.sequence_number);
      expect([...all.filter((e) => e.sequence_number <= cut.sequence_number), ...rest]).toEqual(all);
    }
  });

  it('ends at an input_request with a function_call the client answers; the answer opens the next response', () => {
    const events = log(
      { type: 'user_message', text: 'book' },
      { type: 'input_request', requestId: 'r1', prompt: 'How many?', options: ['2', '4'] },
      { type: 'input', requestId: 'r1', text: '4' },
      { type: 'token', text: 'ok' },
      { type: 'done', finishReason: 'stop', tokens: 1, durationMs: 1 },
    );
    const first = project(events);
    expect(first.types.slice(2)).toEqual([
      '32 response.output_item.added',
      '33 response.function_call_arguments.delta',
      '34 response.function_call_arguments.done',
      '35 response.output_item.done',
      '36 response.completed',
    ]);
    expect(first.p.response().output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        call_id: 'r1',
        name: 'input_request',
        arguments: '{"prompt":"How many?","options":["2","4"]}',
      }),
    ]);
    const second = project(events, 3);
    expect(second.types[0]).toBe('48 response.created');
    expect(second.p.response()).toMatchObject({ id: `resp_${sid}_3`, status: 'completed' });
  });

  it('maps cancel, error, a length stop, a rerun and tool calls', () => {
    const cancelled = project(
      log({ type: 'user_message', text: 'x' }, { type: 'token', text: 'a' }, { type: 'cancelled' }),
    );
    expect(cancelled.types.at(-1)).toBe('51 response.incomplete');
    expect(cancelled.p.response()).toMatchObject({ status: 'cancelled', output: [{ status: 'incomplete' }] });

    const failed = project(
      log(
        { type: 'user_message', text: 'x' },
        { type: 'error', error: { code: 'upstream_error', message: 'boom', retryable: true } },
      ),
    );
    expect(failed.types.at(-1)).toBe('32 response.failed');
    expect(failed.p.response()).toMatchObject({
      status: 'failed',
      error: { code: 'upstream_error', message: 'boom' },
    });

    const cut = project(
      log(
        { type: 'user_message', text: 'x' },
        { type: 'done', finishReason: 'length', tokens: 0, durationMs: 0 },
      ),
    );
    expect(cut.p.response()).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });

    const rerun = project(
      log(
        { type: 'user_message', text: 'x' },
        { type: 'token', text: 'lost' },
        { type: 'restart', attempt: 2, mode: 'rerun', reason: 'worker lost' },
        { type: 'token', text: 'kept' },
        { type: 'done', finishReason: 'stop', tokens: 1, durationMs: 1 },
      ),
    );
    expect(rerun.p.response().output).toEqual([
      expect.objectContaining({ status: 'incomplete', content: [expect.objectContaining({ text: 'lost' })] }),
      expect.objectContaining({ status: 'completed', content: [expect.objectContaining({ text: 'kept' })] }),
    ]);

    const tools = project(
      log(
        { type: 'user_message', text: 'x' },
        { type: 'tool_call', id: 'call_1', name: 'lookup', arguments: '{"q":1}' },
        { type: 'tool_result', id: 'call_1', result: '42', isError: false },
        { type: 'token', text: '42' },
        { type: 'done', finishReason: 'stop', tokens: 1, durationMs: 1 },
      ),
    );
    expect(tools.p.response().output).toEqual([
      expect.objectContaining({
        type: 'function_call',
        call_id: 'call_1',
        name: 'lookup',
        arguments: '{"q":1}',
      }),
      expect.objectContaining({ type: 'message' }),
    ]);
  });

  it('gives each team member its own message item', () => {
    const team = project(
      log(
        { type: 'user_message', text: 'x' },
        { type: 'token', text: 'A says', agent: 'a' },
        { type: 'message', agent: 'a', text: 'A says', role: 'assistant' },
        { type: 'token', text: 'B says', agent: 'b' },
        { type: 'message', agent: 'b', text: 'B says', role: 'assistant' },
        { type: 'done', finishReason: 'stop', tokens: 2, durationMs: 1 },
      ),
    );
    const output = team.p.response().output as { content: { text: string }[] }[];
    expect(output.map((o) => o.content[0]!.text)).toEqual(['A says', 'B says']);
  });
});

describe('responses ids - a response is a segment of a session log', () => {
  it('round-trips resp_<sid>_<seq>, with underscores in the sid', () => {
    expect(parseResponseId(responseIdOf({ sid: 's_a_b_12', startSeq: 7 }))).toEqual({
      sid: 's_a_b_12',
      startSeq: 7,
    });
    for (const bad of [
      'resp_',
      'resp_s_abcdefgh',
      'resp_s_abcdefgh_0',
      'chatcmpl_x_1',
      'resp_short_1',
      'resp_s_a b c de_1',
    ])
      expect(parseResponseId(bad)).toBeNull();
  });
});
