import { asSchema, readUIMessageStream, type UIMessage, type UIMessageChunk, uiMessageChunkSchema } from 'ai';
import { describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../../shared/protocol/events.js';
import { TurnChunks } from './ui-chunks.js';

type Draft = SessionEvent extends infer E
  ? E extends SessionEvent
    ? Omit<E, 'sid' | 'seq' | 'ts'>
    : never
  : never;

/** Stamps drafts with sid/seq/ts as a worker would (seq from `from`). */
function log(drafts: Draft[], from = 1): SessionEvent[] {
  return drafts.map((d, i) => ({ ...d, sid: 's_test0001', seq: from + i, ts: 0 }) as SessionEvent);
}

/** Runs the chunks through the AI SDK's own message builder; every chunk must pass its wire schema. */
async function build(
  chunks: UIMessageChunk[],
): Promise<{ message: UIMessage | undefined; errors: unknown[] }> {
  const schema = asSchema(uiMessageChunkSchema);
  for (const c of chunks) {
    const r = await schema.validate!(c);
    expect(r.success, JSON.stringify(c)).toBe(true);
  }
  const errors: unknown[] = [];
  const stream = new ReadableStream<UIMessageChunk>({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(c);
      ctl.close();
    },
  });
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, onError: (e) => errors.push(e) })) message = m;
  return { message, errors };
}

function run(events: SessionEvent[], after = 0): { chunks: UIMessageChunk[]; turn: TurnChunks } {
  const turn = new TurnChunks(after);
  return { chunks: events.flatMap((e) => turn.push(e)), turn };
}

describe('ai-sdk TurnChunks - event to UI chunk mapping', () => {
  it('maps a team turn with tools: one text part per agent message, tool parts, usage and finish metadata', async () => {
    const { chunks, turn } = run(
      log([
        { type: 'user_message', text: 'plan' },
        { type: 'token', text: 'Draft ', agent: 'writer' },
        { type: 'token', text: 'one.', agent: 'writer' },
        { type: 'message', agent: 'writer', text: 'Draft one.', role: 'assistant' },
        { type: 'tool_call', id: 'c1', name: 'lookup', arguments: '{"q":"x"}', agent: 'critic' },
        { type: 'tool_result', id: 'c1', name: 'lookup', result: '{"hits":2}', isError: false },
        { type: 'tool_call', id: 'c2', name: 'broken', arguments: 'not json' },
        { type: 'tool_result', id: 'c2', result: 'boom', isError: true },
        { type: 'message', agent: 'critic', text: 'Fine.', role: 'assistant' },
        { type: 'usage', promptTokens: 3, completionTokens: 4, totalTokens: 7 },
        { type: 'done', finishReason: 'stop', tokens: 3, durationMs: 12 },
        { type: 'token', text: 'after the end' },
      ]),
    );
    expect(turn.ended).toBe(true);
    const { message, errors } = await build(chunks);
    expect(errors).toEqual([]);
    expect(message?.id).toBe('s_test0001-1');
    const parts = message!.parts.filter((p) => p.type !== 'step-start');
    expect(parts).toMatchObject([
      { type: 'text', text: 'Draft one.', providerMetadata: { streamfabric: { agent: 'writer' } } },
      {
        type: 'dynamic-tool',
        toolName: 'lookup',
        input: { q: 'x' },
        output: { hits: 2 },
        state: 'output-available',
      },
      {
        type: 'dynamic-tool',
        toolName: 'broken',
        input: 'not json',
        errorText: 'boom',
        state: 'output-error',
      },
      // A message that was not streamed as tokens is shown whole, once.
      { type: 'text', text: 'Fine.', providerMetadata: { streamfabric: { agent: 'critic' } } },
    ]);
    expect(message?.metadata).toEqual({
      sid: 's_test0001',
      turnSeq: 1,
      usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
      finishReason: 'stop',
      tokens: 3,
      durationMs: 12,
      lastSeq: 11,
    });
    expect(chunks.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      messageMetadata: expect.any(Object),
    });
  });

  it('starts at the first user_message after `after` (a follow-up turn) and ignores earlier turns', async () => {
    const events = log([
      { type: 'user_message', text: 'one' },
      { type: 'token', text: 'first' },
      { type: 'done', finishReason: 'stop', tokens: 1, durationMs: 1 },
      { type: 'user_message', text: 'two' },
      { type: 'token', text: 'second' },
      { type: 'done', finishReason: 'length', tokens: 1, durationMs: 1 },
    ]);
    const { chunks, turn } = run(events, 3);
    expect(turn.turnSeq).toBe(4);
    const { message } = await build(chunks);
    expect(message?.parts.filter((p) => p.type === 'text').map((p) => p.type === 'text' && p.text)).toEqual([
      'second',
    ]);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', finishReason: 'length' });
  });

  it('a restart in rerun mode drops the lost attempt’s text; an error and a cancel end the turn', async () => {
    const rerun = run(
      log([
        { type: 'user_message', text: 'q' },
        { type: 'token', text: 'lost par' },
        { type: 'restart', attempt: 2, mode: 'rerun', reason: 'worker lost' },
        { type: 'token', text: 'whole answer' },
        { type: 'done', finishReason: 'stop', tokens: 2, durationMs: 1 },
      ]),
    );
    const built = await build(rerun.chunks);
    expect(
      built.message?.parts.filter((p) => p.type === 'text').map((p) => p.type === 'text' && p.text),
    ).toEqual(['whole answer']);

    const failed = run(
      log([
        { type: 'user_message', text: 'q' },
        { type: 'token', text: 'par' },
        { type: 'error', error: { code: 'upstream_error', message: 'model failed', retryable: true } },
      ]),
    );
    expect(failed.turn.ended).toBe(true);
    expect(failed.chunks.slice(-2)).toEqual([
      { type: 'text-end', id: 't2' },
      { type: 'error', errorText: 'upstream_error: model failed' },
    ]);
    expect((await build(failed.chunks)).errors).toHaveLength(1);

    const cancelled = run(
      log([
        { type: 'user_message', text: 'q' },
        { type: 'cancelled', reason: 'stop' },
      ]),
    );
    expect(cancelled.chunks.at(-1)).toEqual({ type: 'abort', reason: 'stop' });
  });

  it('an agent’s question becomes a data-input-request part', async () => {
    const { chunks } = run(
      log([
        { type: 'user_message', text: 'q' },
        {
          type: 'input_request',
          requestId: 'r1',
          prompt: 'Which city?',
          options: ['Oslo', 'Rome'],
          agent: 'guide',
        },
      ]),
    );
    const { message } = await build(chunks);
    expect(message?.parts.at(-1)).toEqual({
      type: 'data-input-request',
      id: 'r1',
      data: { requestId: 'r1', prompt: 'Which city?', options: ['Oslo', 'Rome'], agent: 'guide' },
    });
  });
});
