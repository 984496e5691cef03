import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';
import { CurlSse } from './curl-sse.js';

let fabric: TestFabric;
let openai: OpenAI;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 1 });
  openai = new OpenAI({ baseURL: `${fabric.httpUrl(0)}/v1`, apiKey: 'not-needed', maxRetries: 0 });
});
afterAll(async () => {
  await fabric?.stop();
});

/** Our extra body field: session options the OpenAI schema has no name for (e.g. the built-in model's length). */
type WithExtras = OpenAI.ChatCompletionCreateParamsStreaming & { streamfabric?: Record<string, unknown> };

async function startSlowSession(c: RawClient, id: string, seed: number, length: number): Promise<string> {
  c.send({
    type: 'start',
    id,
    input: 'sse',
    options: { seed, length, tokensPerSecond: 150, flushIntervalMs: 0 },
  });
  return (await c.reply((r) => r.id === id)).sid!;
}

describe('openai compat - the real openai SDK as a client', () => {
  it('streams chat.completion.chunk deltas whose text equals the built-in answer for the seed', async () => {
    const { data: stream, response } = await openai.chat.completions
      .create({
        model: 'streamfabric/builtin',
        messages: [{ role: 'user', content: 'Tell me about durable streams' }],
        stream: true,
        stream_options: { include_usage: true },
        seed: 42,
        streamfabric: { length: 80, tokensPerSecond: 0 },
      } as WithExtras)
      .withResponse();
    const sid = response.headers.get('x-streamfabric-session');
    expect(sid).toMatch(/^s_/);
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      expect(chunk.id).toBe(sid);
      expect(chunk.object).toBe('chat.completion.chunk');
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(builtinText(42, 80));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(80);
  });

  it('answers a non-streaming request with one chat.completion', async () => {
    const completion = await openai.chat.completions.create({
      model: 'builtin',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      seed: 7,
      streamfabric: { length: 30, tokensPerSecond: 0 },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message.content).toBe(builtinText(7, 30));
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(30);
  });

  it('resumes a dropped stream with x-streamfabric-resume on another gateway: no gap, no duplicate', async () => {
    const controller = new AbortController();
    const first = await openai.chat.completions.create(
      {
        model: 'builtin',
        messages: [{ role: 'user', content: 'resume me' }],
        stream: true,
        seed: 99,
        streamfabric: { length: 200, tokensPerSecond: 150, flushIntervalMs: 0 },
      } as WithExtras,
      { signal: controller.signal },
    );
    let text = '';
    let sid = '';
    let lastSeq = 0;
    for await (const chunk of first) {
      sid = chunk.id;
      const seq = (chunk as unknown as { streamfabric_seq: number }).streamfabric_seq;
      text += chunk.choices[0]?.delta.content ?? '';
      if (seq > 0) lastSeq = seq;
      if (lastSeq >= 20) break; // leaving the loop aborts the HTTP response, like a lost network
    }
    controller.abort();
    const other = new OpenAI({ baseURL: `${fabric.httpUrl(1)}/v1`, apiKey: 'x', maxRetries: 0 });
    const rest = await other.chat.completions.create(
      { model: 'builtin', messages: [{ role: 'user', content: 'resume me' }], stream: true } as WithExtras,
      { headers: { 'x-streamfabric-resume': `${sid}:${lastSeq}` } },
    );
    const seqs: number[] = [];
    for await (const chunk of rest) {
      expect(chunk.id).toBe(sid);
      const seq = (chunk as unknown as { streamfabric_seq: number }).streamfabric_seq;
      if (chunk.choices[0]?.delta.content) seqs.push(seq);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(seqs[0]).toBe(lastSeq + 1);
    expect(text).toBe(builtinText(99, 200));
  });

  it('reports bad requests as typed OpenAI-style errors', async () => {
    const bad = (body: unknown) =>
      openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming).then(
        () => null,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    const noModel = await bad({ model: 'No Such/Agent!', messages: [{ role: 'user', content: 'x' }] });
    // A model that names no agent is OpenAI's own 404 (docs/agent-pools.md), whatever its spelling.
    expect(noModel?.status).toBe(404);
    expect((noModel?.error as { code?: string } | undefined)?.code).toBe('model_not_found');
    const noMessages = await bad({ model: 'builtin', messages: [] });
    expect(noMessages?.status).toBe(400);
    const badOption = await bad({
      model: 'builtin',
      messages: [{ role: 'user', content: 'x' }],
      streamfabric: { lenght: 3 },
    });
    expect(badOption?.status).toBe(400);
    expect(badOption?.message).toContain('lenght');
    const res = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_frame');
  });
});

describe('sse - GET /v1/sessions/:sid/events with curl', () => {
  it('resumes with Last-Event-ID after curl is killed mid-stream: every seq exactly once', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await startSlowSession(c, 'sse1', 31, 150);
    const url = `${fabric.httpUrl(0)}/v1/sessions/${sid}/events`;
    const a = new CurlSse(url);
    await waitFor(() => a.events().length >= 15, { what: 'first SSE events', timeoutMs: 20_000 });
    await a.kill();
    expect(a.status).toBe(200);
    const held = a.events();
    assertContiguous(held);
    const lastId = a.messages.filter((m) => m.id).at(-1)!.id!;
    expect(Number(lastId)).toBe(held.at(-1)!.seq);
    // Resume on the other gateway, as EventSource would after a reconnect.
    const b = new CurlSse(`${fabric.httpUrl(1)}/v1/sessions/${sid}/events?after=1`, {
      'Last-Event-ID': lastId,
    });
    expect(await b.exited).toBe(0); // the server ends the stream after the terminal event
    const rest = b.events();
    assertContiguous(rest, Number(lastId));
    const all = [...held, ...rest];
    expect(all.at(-1)!.type).toBe('done');
    expect(all.map((e) => (e.type === 'token' ? (e.text ?? '') : '')).join('')).toBe(builtinText(31, 150));
    expect(b.messages.at(-1)!.event).toBe('end');
    c.close();
  });

  it('serves ?after= from the log, ends at once when the client is up to date, and answers typed errors', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 'f1', input: 'x', options: { seed: 5, length: 20, tokensPerSecond: 0 } });
    const sid = (await c.reply((r) => r.id === 'f1')).sid!;
    const events = await c.finished(sid);
    const last = events.at(-1)!.seq;
    const tail = new CurlSse(`${fabric.httpUrl(1)}/v1/sessions/${sid}/events?after=${last - 3}`);
    expect(await tail.exited).toBe(0);
    expect(tail.events().map((e) => e.seq)).toEqual([last - 2, last - 1, last]);
    const upToDate = new CurlSse(`${fabric.httpUrl(1)}/v1/sessions/${sid}/events`, {
      'Last-Event-ID': String(last),
    });
    expect(await upToDate.exited).toBe(0);
    expect(upToDate.events()).toEqual([]);
    expect(upToDate.messages.map((m) => m.event)).toEqual(['end']);
    // CORS_ORIGINS defaults to `self,loopback`: a page served from this machine may read the answer.
    const page = 'http://localhost:5173';
    const missing = await fetch(`${fabric.httpUrl(0)}/v1/sessions/s_doesnotexist/events`, {
      headers: { origin: page },
    });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(missing.headers.get('access-control-allow-origin')).toBe(page);
    const preflight = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: page,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-streamfabric-resume',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-streamfabric-resume');
    // The streaming routes pass the same origin check as every other route.
    const foreign = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const badPos = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events`, {
      headers: { 'Last-Event-ID': 'abc' },
    });
    expect(badPos.status).toBe(400);
    const beyond = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events?after=${last + 5}`);
    expect(beyond.status).toBe(400);
    c.close();
  });
});
