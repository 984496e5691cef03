import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { PACER_SLACK_MS } from '../../services/worker/publish/pacer.js';
import type { SessionEvent, SessionOptions } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { FakeOpenAi } from './fake-openai-server.js';

// A real gateway, nats-server and worker process; the worker runs the real `openai` SDK against
// a local fake of the API. No internet, no key.
let fake: FakeOpenAi;
let fabric: TestFabric;
let client: RawClient;

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } } },
    },
  },
];

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    workerEnv: {
      WORKER_AGENTS: 'builtin,openai',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: 'sk-test-fake',
      OPENAI_MODEL: 'fake-model-1',
      OPENAI_TEMPERATURE: '0.3',
      OPENAI_MAX_TOKENS: '256',
      OPENAI_SYSTEM_PROMPT: 'You are terse.',
      OPENAI_TIMEOUT_MS: '2000',
      OPENAI_MAX_RETRIES: '2',
      OPENAI_RETRY_BASE_MS: '50',
      OPENAI_TOOLS: JSON.stringify(TOOLS),
    },
  });
  client = await RawClient.connect(fabric.wsUrl(0));
});
afterAll(async () => {
  client?.close();
  await fabric?.stop();
  await fake?.stop();
});

let requestId = 0;
/** Starts a session on `agent` and returns the id (the caller waits for what it needs). */
async function start(input: string, options: SessionOptions = {}, agent = 'openai'): Promise<string> {
  const id = `q${++requestId}`;
  client.send({ type: 'start', id, agent, input, options });
  const reply = await client.reply((r) => r.id === id);
  expect(reply.ok).toBe(true);
  return reply.sid!;
}

/** Runs a session to its terminal event; asserts seq is contiguous. */
async function run(input: string, options: SessionOptions = {}, agent = 'openai'): Promise<SessionEvent[]> {
  const events = await client.finished(await start(input, options, agent));
  assertContiguous(events);
  return events;
}

function last<T extends SessionEvent['type']>(events: SessionEvent[], type: T) {
  const e = events.at(-1)!;
  expect(e.type).toBe(type);
  return e as Extract<SessionEvent, { type: T }>;
}

describe('openai agent - streaming', () => {
  it('streams tokens, usage and done, sending the worker defaults to the provider', async () => {
    fake.script('Say hello', { tokens: ['Hello', ',', ' world', '!'] });
    const events = await run('Say hello', { flushIntervalMs: 0 });
    expect(tokenText(events)).toBe('Hello, world!');
    expect(events.filter((e) => e.type === 'token').length).toBe(4);
    const done = last(events, 'done');
    expect(done.finishReason).toBe('stop');
    expect(done.tokens).toBe(4);
    const usage = events.find((e) => e.type === 'usage');
    expect(usage).toMatchObject({ completionTokens: 4 });
    const [req] = fake.requestsFor('Say hello');
    expect(req).toMatchObject({
      model: 'fake-model-1',
      temperature: 0.3,
      maxTokens: 256,
      authorization: 'Bearer sk-test-fake',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hello' },
      ],
    });
    expect(req!.body).toMatchObject({ stream: true, stream_options: { include_usage: true }, tools: TOOLS });
  });

  it('session options override model, temperature, max tokens and system prompt', async () => {
    await run('Override me', {
      model: 'other-model',
      temperature: 1.5,
      maxTokens: 7,
      systemPrompt: 'Be loud.',
    });
    expect(fake.requestsFor('Override me')[0]).toMatchObject({
      model: 'other-model',
      temperature: 1.5,
      maxTokens: 7,
      messages: [
        { role: 'system', content: 'Be loud.' },
        { role: 'user', content: 'Override me' },
      ],
    });
  });

  it('assembles streamed tool calls and emits them whole, after the text and before usage and done', async () => {
    const args = '{"city":"Paris","unit":"celsius","days":3}';
    fake.script('Weather?', {
      tokens: ['Let', ' me', ' check', '.'],
      toolCalls: [
        { id: 'call_w1', name: 'get_weather', arguments: args },
        { id: 'call_w2', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      ],
      argChunkChars: 5,
    });
    // A huge buffer and interval: only the flush before a non-token output can deliver the text in time.
    const events = await run('Weather?', { bufferSize: 1000, flushIntervalMs: 10_000 });
    // The first token leaves at once (coalescing never delays time to first token), the rest together.
    const types = events.map((e) => e.type).filter((t, i, all) => t !== 'token' || all[i - 1] !== 'token');
    expect(types).toEqual(['user_message', 'token', 'tool_call', 'tool_call', 'usage', 'done']);
    expect(tokenText(events)).toBe('Let me check.');
    expect(events.filter((e) => e.type === 'tool_call')).toMatchObject([
      { id: 'call_w1', name: 'get_weather', arguments: args },
      { id: 'call_w2', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(
      JSON.parse((events.find((e) => e.type === 'tool_call') as { arguments: string }).arguments),
    ).toEqual({
      city: 'Paris',
      unit: 'celsius',
      days: 3,
    });
    expect(last(events, 'done').finishReason).toBe('tool_calls');
  });
});

describe('openai agent - cancel', () => {
  it('cancel aborts the HTTP request: the provider sees the connection closed', async () => {
    const tokens = Array.from({ length: 400 }, (_, i) => ` w${i}`);
    fake.script('Count slowly', { tokens, tokenDelayMs: 30 });
    const sid = await start('Count slowly', { flushIntervalMs: 0 });
    await waitFor(() => client.events(sid).filter((e) => e.type === 'token').length >= 3, { what: 'tokens' });
    client.send({ type: 'cancel', id: 'cancel-1', sid });
    const events = await client.finished(sid);
    assertContiguous(events);
    last(events, 'cancelled');
    const [req] = fake.requestsFor('Count slowly');
    await waitFor(() => req!.clientClosed, { what: 'the provider to see the client hang up' });
    expect(req!.completed).toBe(false);
    expect(fake.requestsFor('Count slowly').length).toBe(1);
    // What reached the client is a prefix of the answer: nothing garbled.
    expect(tokens.join('').startsWith(tokenText(events))).toBe(true);
  });
});

describe('openai agent - upstream errors', () => {
  it.each([
    { status: 401, code: 'upstream_auth', retryable: false },
    { status: 403, code: 'upstream_auth', retryable: false },
    { status: 400, code: 'upstream_error', retryable: false },
    { status: 429, errorCode: 'insufficient_quota', code: 'upstream_rate_limited', retryable: false },
  ])(
    'HTTP $status $errorCode is a non-retryable $code, not retried',
    async ({ status, errorCode, code, retryable }) => {
      const prompt = `fail ${status} ${errorCode ?? ''}`;
      fake.script(prompt, { status, ...(errorCode ? { errorCode } : {}) });
      const error = last(await run(prompt), 'error').error;
      expect(error).toMatchObject({ code, retryable });
      expect(error.message).toContain(String(status));
      expect(fake.requestsFor(prompt).length).toBe(1);
    },
  );

  it('429 with retry-after is retried after the time the provider asked for, then streams', async () => {
    fake.script('Busy', { status: 429, headers: { 'retry-after': '1' } }, { tokens: ['fine'] });
    const events = await run('Busy');
    expect(last(events, 'done').finishReason).toBe('stop');
    expect(tokenText(events)).toBe('fine');
    const [first, second] = fake.requestsFor('Busy');
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('429 on every try ends with a retryable upstream_rate_limited carrying retryAfterMs', async () => {
    fake.script('Always busy', { status: 429, headers: { 'retry-after-ms': '120' } });
    const error = last(await run('Always busy'), 'error').error;
    expect(error).toMatchObject({ code: 'upstream_rate_limited', retryable: true, retryAfterMs: 120 });
    expect(fake.requestsFor('Always busy').length).toBe(3); // 1 + OPENAI_MAX_RETRIES
  });

  it('5xx before the first token is retried with backoff; persistent 5xx is a retryable upstream_error', async () => {
    fake.script('Flaky', { status: 500 }, { status: 502 }, { tokens: ['up'] });
    expect(tokenText(await run('Flaky'))).toBe('up');
    expect(fake.requestsFor('Flaky').length).toBe(3);

    fake.script('Down', { status: 503 });
    const error = last(await run('Down'), 'error').error;
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(error.message).toContain('503');
  });

  it('no first byte within OPENAI_TIMEOUT_MS is an upstream_timeout: retried, and the slow request is closed', async () => {
    fake.script('Slow start', { firstByteDelayMs: 6000, tokens: ['late'] }, { tokens: ['on', ' time'] });
    const events = await run('Slow start');
    expect(tokenText(events)).toBe('on time');
    const [slow] = fake.requestsFor('Slow start');
    expect(fake.requestsFor('Slow start').length).toBe(2);
    await waitFor(() => slow!.clientClosed, { what: 'the timed-out request to be closed' });
  });

  it('a stream that stalls after the first token ends the turn with upstream_timeout, keeping the text', async () => {
    fake.script('Stall', { tokens: ['one', ' two', ' three'], stallAfterTokens: 2 });
    const events = await run('Stall', { flushIntervalMs: 0 });
    expect(tokenText(events)).toBe('one two');
    const error = last(events, 'error').error;
    expect(error).toMatchObject({ code: 'upstream_timeout', retryable: true });
    expect(error.message).toContain('not retried');
    expect(fake.requestsFor('Stall').length).toBe(1);
  });

  it('a stream cut mid-way ends the turn with a clear upstream_error and is not retried', async () => {
    fake.script('Cut', { tokens: ['a', 'b', 'c', 'd'], cutAfterTokens: 3 }, { tokens: ['never'] });
    const events = await run('Cut');
    expect(tokenText(events)).toBe('abc');
    const error = last(events, 'error').error;
    expect(error).toMatchObject({ code: 'upstream_error', retryable: true });
    expect(error.message).toMatch(/stream broke.*after 3 streamed outputs/);
    expect(fake.requestsFor('Cut').length).toBe(1);
  });

  it('a stream cut or ended before any token is retried', async () => {
    fake.script(
      'Cut early',
      { tokens: ['x'], cutAfterTokens: 0 },
      { endWithoutFinish: true },
      { tokens: ['whole'] },
    );
    const events = await run('Cut early');
    expect(tokenText(events)).toBe('whole');
    last(events, 'done');
    expect(fake.requestsFor('Cut early').length).toBe(3);
  });
});

describe('openai agent - builtin beside it', () => {
  it('the same worker still serves the builtin agent, and maxTokensPerSecond paces it', async () => {
    // 20 tokens at most 40/s: the 20th cannot leave before 19 intervals of 25 ms (less the slack).
    const events = await run(
      'paced',
      { seed: 8, length: 20, tokensPerSecond: 0, maxTokensPerSecond: 40 },
      'builtin',
    );
    expect(tokenText(events)).toBe(builtinText(8, 20));
    expect(last(events, 'done').durationMs).toBeGreaterThanOrEqual(19 * 25 - PACER_SLACK_MS);
  });
});
