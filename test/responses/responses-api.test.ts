import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinAnswerText, builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// The Responses API on real gateways (3: one is killed), a real worker with the built-in model and
// real NATS, driven by the official `openai` SDK.
let fabric: TestFabric;
const client = (i: number) =>
  new OpenAI({ baseURL: `${fabric.httpUrl(i)}/v1`, apiKey: 'not-needed', maxRetries: 0 });

beforeAll(async () => {
  fabric = await startFabric({ gateways: 3, workers: 1 });
});
afterAll(async () => {
  await fabric?.stop();
});

/** Our extra body field: session options the OpenAI schema has no name for. */
type Extras = { streamfabric?: Record<string, unknown> };
type Event = OpenAI.Responses.ResponseStreamEvent;

const textOf = (events: Event[]) =>
  events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : '')).join('');

describe('responses api - the official openai SDK as a client', () => {
  it('resumes a background stream on another gateway after the serving gateway is SIGKILLed: exactly the rest', async () => {
    const seed = 11;
    const length = 200;
    const stream = await client(2).responses.create({
      model: 'streamfabric/builtin',
      input: 'Tell me about durable streams',
      stream: true,
      background: true,
      streamfabric: { seed, length, tokensPerSecond: 50, flushIntervalMs: 0 },
    } as OpenAI.Responses.ResponseCreateParamsStreaming & Extras);
    const before: Event[] = [];
    let id = '';
    const killed = (async () => {
      for await (const e of stream) {
        before.push(e);
        if (e.type === 'response.created') id = e.response.id;
        if (before.filter((b) => b.type === 'response.output_text.delta').length === 5) {
          await fabric.gateways[2]!.kill('SIGKILL');
        }
      }
    })();
    await killed.catch(() => {}); // the connection dies with the gateway (how the SDK reports it varies)
    expect(id).toMatch(/^resp_s_/);
    expect(before.some((e) => e.type === 'response.completed')).toBe(false);
    const startingAfter = before.at(-1)!.sequence_number;

    const rest: Event[] = [];
    const resumed = await client(0).responses.retrieve(id, { stream: true, starting_after: startingAfter });
    for await (const e of resumed) rest.push(e);
    const label = (e: Event) => `${e.sequence_number} ${e.type}`;
    const transcript = {
      beforeKill: before.map(label),
      startingAfter,
      resumed: [...rest.slice(0, 3).map(label), '...', ...rest.slice(-2).map(label)],
      resumedCount: rest.length,
    };
    console.log('resume transcript', JSON.stringify(transcript, null, 1));

    // Exactly the rest: what a full replay on the third gateway has after `startingAfter`.
    const full: Event[] = [];
    for await (const e of await client(1).responses.retrieve(id, { stream: true })) full.push(e);
    expect(rest).toEqual(full.filter((e) => e.sequence_number > startingAfter));
    expect(full.slice(0, before.length)).toEqual(before);
    const numbers = full.map((e) => e.sequence_number);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(textOf(before) + textOf(rest)).toBe(builtinText(seed, length));
    const completed = rest.at(-1);
    expect(completed?.type).toBe('response.completed');
    if (completed?.type === 'response.completed') {
      // (`output_text` is the SDK's convenience on non-streamed responses; a streamed one has `output`.)
      expect(completed.response.output).toEqual([
        expect.objectContaining({ content: [expect.objectContaining({ text: builtinText(seed, length) })] }),
      ]);
      expect(completed.response.usage?.output_tokens).toBe(length);
    }
    // Lost gateway or not, the response reads back whole anywhere.
    const read = await client(1).responses.retrieve(id);
    expect(read.status).toBe('completed');
    expect(read.output_text).toBe(builtinText(seed, length));
  });

  it('answers a non-streaming create with one response object in the Responses format', async () => {
    const r = await client(0).responses.create({
      model: 'builtin',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
      streamfabric: { seed: 7, length: 30, tokensPerSecond: 0 },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    expect(r.object).toBe('response');
    expect(r.status).toBe('completed');
    expect(r.instructions).toBe('Be brief.');
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(r.output_text).toBe(builtinText(7, 30));
    expect(r.usage?.output_tokens).toBe(30);
  });

  it('continues the conversation with previous_response_id on another gateway (history from the log)', async () => {
    const first = await client(0).responses.create({
      model: 'builtin',
      input: 'What is NATS?',
      streamfabric: { seed: 100, length: 20, tokensPerSecond: 0 },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    const second = await client(1).responses.create({
      model: 'builtin',
      input: 'And JetStream?',
      previous_response_id: first.id,
    });
    expect(second.previous_response_id).toBe(first.id);
    expect(second.id).not.toBe(first.id);
    // The same session: the id names it, and the turn's seed follows the first (seed + turn - 1).
    expect(second.id.slice(0, second.id.lastIndexOf('_'))).toBe(first.id.slice(0, first.id.lastIndexOf('_')));
    expect(second.output_text).toBe(builtinText(101, 20));
    // The worker got the first turn as history: the prompt is longer than the first one's.
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    const again = await client(1).responses.retrieve(first.id);
    expect(again.output_text).toBe(first.output_text);
    // Only the latest response of a conversation can be continued (the log is a line).
    await expect(
      client(0).responses.create({ model: 'builtin', input: 'fork', previous_response_id: first.id }),
    ).rejects.toMatchObject({ status: 400, param: 'previous_response_id' });
  });

  it('cancels a running response from another gateway: the model call stops, the stream ends incomplete', async () => {
    const length = 2_000;
    const started = await client(0).responses.create({
      model: 'builtin',
      input: 'a long one',
      background: true,
      streamfabric: { seed: 5, length, tokensPerSecond: 40, flushIntervalMs: 0 },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    expect(started.status).toBe('queued');
    const stream = await client(0).responses.retrieve(started.id, { stream: true });
    const seen: Event[] = [];
    const done = (async () => {
      for await (const e of stream) seen.push(e);
    })();
    await waitFor(() => seen.some((e) => e.type === 'response.output_text.delta'), { what: 'first delta' });
    const cancelled = await client(1).responses.cancel(started.id);
    expect(cancelled.status).toBe('cancelled');
    await done;
    expect(seen.at(-1)?.type).toBe('response.incomplete');
    expect(textOf(seen).length).toBeLessThan(builtinText(5, length).length);
    expect((await client(0).responses.retrieve(started.id)).status).toBe('cancelled');
  });

  it("shows the agent's question as a function_call the client answers with function_call_output", async () => {
    const asked = await client(0).responses.create({
      model: 'builtin',
      input: 'Book a table',
      streamfabric: { seed: 3, length: 10, tokensPerSecond: 0, askUser: { prompt: 'How many people?' } },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    expect(asked.status).toBe('completed');
    const call = asked.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'input_request' });
    if (call?.type !== 'function_call') throw new Error('no function_call');
    expect(JSON.parse(call.arguments)).toEqual({ prompt: 'How many people?' });
    const answered = await client(1).responses.create({
      model: 'builtin',
      previous_response_id: asked.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '4' }],
    });
    expect(answered.status).toBe('completed');
    expect(answered.output_text).toBe(builtinAnswerText('4', 3, 10));
  });

  it('deletes a response (its conversation): reading it afterwards is 404', async () => {
    const r = await client(0).responses.create({
      model: 'builtin',
      input: 'short',
      streamfabric: { length: 5, tokensPerSecond: 0 },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    await client(1).responses.delete(r.id);
    await expect(client(0).responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
  });

  it('answers malformed bodies with 400 invalid_request_error naming the param', async () => {
    const post = async (body: string) => {
      const res = await fetch(`${fabric.httpUrl(0)}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, error: ((await res.json()) as { error: Record<string, unknown> }).error };
    };
    const notJson = await post('{nope');
    expect(notJson.status).toBe(400);
    expect(notJson.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'bad_frame',
      retryable: false,
    });
    expect((await post('{"model":"builtin"}')).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'input',
    });
    expect((await post('{"model":"builtin","input":"x","stream":"yes"}')).error.param).toBe('stream');
    expect((await post('{"model":"builtin","input":[{"role":"robot","content":"x"}]}')).error.param).toBe(
      'input',
    );
    expect((await post('{"model":"Not A Model!","input":"x"}')).error.param).toBe('model');
    const orphan = await post(
      '{"model":"builtin","input":[{"type":"function_call_output","call_id":"c","output":"4"}]}',
    );
    expect(orphan).toMatchObject({ status: 400, error: { param: 'previous_response_id' } });
    for (const e of [notJson.error]) expect(JSON.stringify(e)).not.toMatch(/\/work|at .*\.js|node_modules/);
    // A well-formed model no pool declared: OpenAI's 404 model_not_found at once, never a stream.
    await expect(
      client(0).responses.create({ model: 'no-such-agent', input: 'x', stream: true }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
    // Through the SDK: a typed BadRequestError, and an unknown previous response is 404.
    await expect(client(0).responses.create({ model: 'builtin', input: [] })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
    await expect(
      client(0).responses.create({
        model: 'builtin',
        input: 'x',
        previous_response_id: 'resp_s_nosuchsession_1',
      }),
    ).rejects.toMatchObject({ status: 404, param: 'previous_response_id' });
    await expect(
      client(0).responses.retrieve('resp_s_nosuchsession_1', { stream: true, starting_after: -5 }),
    ).rejects.toMatchObject({
      status: 400,
      param: 'starting_after',
    });
  });
});
