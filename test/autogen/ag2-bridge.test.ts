import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../client/src/index.js';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';
import { FakeOpenAi } from '../openai/fake-openai-server.js';

// AG2 classic (`import autogen`) and Microsoft Agent Framework agents behind the bridge, on a real
// gateway and nats-server. Each framework's own OpenAI client streams over real HTTP/SSE from the
// local OpenAI-compatible server (no API key).
let fabric: TestFabric;
let fake: FakeOpenAi;
let nc: NatsConnection;
let env: Record<string, string>;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  ensurePython();
  fake = await FakeOpenAi.start();
  fabric = await startFabric({ gateways: 1, workers: 0 });
  nc = await connect({ servers: fabric.nats.urls });
  env = {
    NATS_URL: fabric.nats.urls,
    STREAM_LOG_LEVEL: 'info',
    STREAMFABRIC_DEMO_OPENAI_BASE_URL: fake.baseUrl,
    STREAMFABRIC_DEMO_OPENAI_MODEL: 'fake-model',
    SEED_OPENAI_BASE_URL: fake.baseUrl,
    PYTHONPATH: join(repoRoot(), 'test/autogen/fixtures'),
    // A short ack wait: the job of a killed bridge is redelivered about 1.5 s later.
    WORKER_ACK_WAIT_MS: '1500',
    AGENT_HEARTBEAT_MS: '500',
  };
  bridges.push(
    ...(await Promise.all([
      spawnBridge({ builder: 'seed_agents:build', agent: 'ag2-seed', env, timeoutMs: 120_000 }),
      spawnBridge({
        builder: 'streamfabric_autogen.demos.ag2_pair:build_group',
        agent: 'ag2-group',
        env,
        timeoutMs: 120_000,
      }),
      spawnBridge({
        builder: 'streamfabric_autogen.demos.ag2_pair:build_human',
        agent: 'ag2-human',
        env,
        timeoutMs: 120_000,
      }),
      spawnBridge({
        builder: 'streamfabric_autogen.demos.agent_framework_agent:build',
        agent: 'af-weather',
        env,
        timeoutMs: 120_000,
      }),
      spawnBridge({
        builder: 'streamfabric_autogen.demos.agent_framework_agent:build_approval',
        agent: 'af-orders',
        env,
        timeoutMs: 120_000,
      }),
    ])),
  );
}, 600_000);
afterAll(async () => {
  await Promise.allSettled(bridges.map((b) => b.kill('SIGKILL')));
  await nc?.close();
  await fabric?.stop();
  await fake?.stop();
});

/** The events' types with their agent, e.g. `token:assistant`, `done` (tokens folded into one). */
function shape(events: SessionEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    const agent = 'agent' in e && e.agent ? `:${e.agent}` : '';
    const s = `${e.type}${agent}`;
    if (e.type === 'token' && out.at(-1) === `${s}*`) continue;
    out.push(e.type === 'token' ? `${s}*` : s);
  }
  return out;
}

async function turn(agent: string, input: string): Promise<SessionEvent[]> {
  const c = await RawClient.connect(fabric.wsUrl(0));
  c.send({ type: 'start', id: 's', agent, input });
  const sid = (await c.reply((r) => r.id === 's')).sid!;
  const events = await c.finished(sid, 60_000);
  c.close();
  assertContiguous(events);
  return events;
}

const text = (events: SessionEvent[], agent: string) =>
  events.flatMap((e) => (e.type === 'token' && e.agent === agent ? [e.text] : [])).join('');

/**
 * Starts a 400-word answer, cancels it after its first tokens, and checks that the turn ends with
 * `cancelled` and that the framework closed its model request (the fake server saw the hang-up).
 */
async function cancelMidStream(agent: string, input: string, wordPrefix: string): Promise<SessionEvent[]> {
  const words = Array.from({ length: 400 }, (_, i) => ` ${wordPrefix}${i}`);
  fake.script(input, { tokens: words, tokenDelayMs: 20 });
  const c = await RawClient.connect(fabric.wsUrl(0));
  c.send({ type: 'start', id: 's', agent, input });
  const sid = (await c.reply((r) => r.id === 's')).sid!;
  await waitFor(() => c.events(sid).filter((e) => e.type === 'token').length >= 3, {
    timeoutMs: 60_000,
    what: 'first tokens',
  });
  c.send({ type: 'cancel', id: 'x', sid });
  const events = await c.finished(sid, 30_000);
  c.close();
  assertContiguous(events);
  expect(events.at(-1)?.type).toBe('cancelled');
  await waitFor(() => fake.requestsFor(input)[0]?.clientClosed === true, {
    timeoutMs: 20_000,
    what: 'the model request to be closed',
  });
  return events;
}

describe('ag2 bridge - the seed’s AutoGen 0.2 agents and Agent Framework through a gateway', () => {
  it('the seed’s initialize_agent + initiate_chat shape streams the assistant’s tokens, then done', async () => {
    fake.script('hello seed', {
      tokens: 'Hi, I am the seed assistant streaming word by word.'.split(/(?= )/),
      tokenDelayMs: 40, // slower than STREAM_FLUSH_INTERVAL: the tokens reach the client as several events
    });
    const events = await turn('ag2-seed', 'hello seed');
    expect(shape(events)).toEqual(['user_message', 'token:assistant*', 'message:assistant', 'usage', 'done']);
    expect(text(events, 'assistant')).toBe('Hi, I am the seed assistant streaming word by word.');
    expect(events.filter((e) => e.type === 'token').length).toBeGreaterThan(1);
    // The framework's own client really asked the model, with streaming on.
    expect(fake.requestsFor('hello seed')[0]?.body.stream).toBe(true);
  });

  it('a GroupChat with a registered tool: tool_call, tool_result, then the reporter streams', async () => {
    fake.script(
      'add 2 and 3',
      { toolCalls: [{ id: 'call_1', name: 'add', arguments: '{"a": 2, "b": 3}' }] },
      { tokens: ['the', ' sum', ' is', ' 5'] },
    );
    const events = await turn('ag2-group', 'add 2 and 3');
    expect(shape(events)).toEqual([
      'user_message',
      'tool_call:calculator',
      'tool_result:executor',
      'token:reporter*',
      'message:reporter',
      'usage',
      'done',
    ]);
    const result = events.find((e) => e.type === 'tool_result');
    expect(result?.type === 'tool_result' && [result.id, result.name, result.result]).toEqual([
      'call_1',
      'add',
      '5',
    ]);
    expect(text(events, 'reporter')).toBe('the sum is 5');
  });

  it('human_input_mode ALWAYS asks the session’s user through the fabric and continues with the answer', async () => {
    fake.script('book a table', { tokens: ['For', ' how', ' many?'] });
    fake.script('four people', { tokens: ['Booked', ' for', ' four.'] });
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 's', agent: 'ag2-human', input: 'book a table' });
    const sid = (await c.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => c.events(sid).find((e) => e.type === 'input_request'), {
      timeoutMs: 60_000,
      what: 'the input_request',
    });
    expect(req.type === 'input_request' && req.agent).toBe('customer');
    c.send({
      type: 'input',
      id: 'i',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: 'four people',
    });
    expect((await c.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await c.finished(sid, 60_000);
    c.close();
    assertContiguous(events);
    expect(shape(events)).toEqual([
      'user_message',
      'token:assistant*',
      'message:assistant',
      'input_request:customer',
      'input',
      'message:customer',
      'token:assistant*',
      'message:assistant',
      'usage',
      'done',
    ]);
    const answer = events.find((e) => e.type === 'message' && e.agent === 'customer');
    expect(answer?.type === 'message' && [answer.role, answer.text]).toEqual(['user', 'four people']);
  });

  it('cancel stops the AG2 run mid-stream and ends with cancelled', async () => {
    const events = await cancelMidStream('ag2-seed', 'tell a long story', 'w');
    expect(text(events, 'assistant').split(' ').length).toBeLessThan(300);
  });

  it('an Agent Framework Agent with a tool streams tool_call, tool_result and tokens', async () => {
    fake.script(
      'weather in Paris',
      { toolCalls: [{ id: 'call_w', name: 'get_weather', arguments: '{"city": "Paris"}' }] },
      { tokens: ['It', ' is', ' sunny', ' in', ' Paris.'] },
    );
    const events = await turn('af-weather', 'weather in Paris');
    expect(shape(events)).toEqual([
      'user_message',
      'tool_call:weather',
      'tool_result:weather',
      'token:weather*',
      'message:weather',
      'usage',
      'done',
    ]);
    const result = events.find((e) => e.type === 'tool_result');
    expect(result?.type === 'tool_result' && result.result).toBe('sunny in Paris, 21 C');
    expect(text(events, 'weather')).toBe('It is sunny in Paris.');
  });

  it('an Agent Framework tool that needs approval asks the session’s user, then runs', async () => {
    fake.script(
      'cancel order 42',
      { toolCalls: [{ id: 'call_c', name: 'cancel_order', arguments: '{"order": "42"}' }] },
      { tokens: ['Order', ' 42', ' is', ' cancelled.'] },
    );
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 's', agent: 'af-orders', input: 'cancel order 42' });
    const sid = (await c.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => c.events(sid).find((e) => e.type === 'input_request'), {
      timeoutMs: 60_000,
      what: 'the approval request',
    });
    expect(req.type === 'input_request' && [req.agent, req.prompt, req.options]).toEqual([
      'orders',
      'Allow cancel_order({"order": "42"})?',
      ['approve', 'reject'],
    ]);
    // Not run before the user approved it.
    expect(c.events(sid).some((e) => e.type === 'tool_result')).toBe(false);
    const requestId = req.type === 'input_request' ? req.requestId : '';
    c.send({ type: 'input', id: 'i', sid, requestId, text: 'approve' });
    expect((await c.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await c.finished(sid, 60_000);
    c.close();
    assertContiguous(events);
    expect(shape(events)).toEqual([
      'user_message',
      'tool_call:orders',
      'input_request:orders',
      'input',
      'tool_result:orders',
      'token:orders*',
      'message:orders',
      'usage',
      'done',
    ]);
    const result = events.find((e) => e.type === 'tool_result');
    expect(result?.type === 'tool_result' && result.result).toBe('order 42 cancelled');
  });

  it('cancel stops an Agent Framework run mid-stream and closes its model request', async () => {
    await cancelMidStream('af-orders', 'list every order', 'o');
  });

  it('an agent error reaches the client as a typed error with the exception type, no address or path', async () => {
    fake.script('fail please', {
      status: 400,
      errorMessage: `bad request from ${fake.baseUrl}/chat/completions`,
    });
    const events = await turn('ag2-seed', 'fail please');
    const last = events.at(-1);
    expect(last?.type).toBe('error');
    const err = last?.type === 'error' ? last.error : undefined;
    expect(err?.code).toBe('agent_error');
    expect(err?.retryable).toBe(false);
    expect(err?.message).toMatch(/^BadRequestError: /);
    expect(err?.message).not.toMatch(/127\.0\.0\.1|Traceback|\.py|site-packages/);
    // The details are in the bridge's log, with the session id.
    const sid = events[0]!.sid;
    await waitFor(() => bridges[0]!.logs.find((l) => l.msg === 'agent failed' && l.sid === sid), {
      what: 'the logged failure',
    });
  });

  it('declares its agent pools in FABRIC_AGENTS with a heartbeat, and withdraws the live key on SIGTERM', async () => {
    const kv = await new Kvm(nc).open('FABRIC_AGENTS');
    const pools = new Map<string, string>();
    for (const agent of ['ag2-seed', 'ag2-group', 'ag2-human', 'af-weather']) {
      const pool = (await kv.get(`pool.${agent}`))?.json<{ v: number; agent: string; kind: string }>();
      expect(pool?.v).toBe(1);
      expect(pool?.agent).toBe(agent);
      pools.set(agent, pool!.kind);
    }
    expect(Object.fromEntries(pools)).toEqual({
      'ag2-seed': 'ag2',
      'ag2-group': 'ag2',
      'ag2-human': 'ag2',
      'af-weather': 'agent-framework',
    });
    const liveKeys = async (agent: string) => {
      const keys: string[] = [];
      for await (const k of await kv.keys(`live.${agent}.*`)) keys.push(k);
      return keys;
    };
    const [key] = await liveKeys('af-weather');
    const first = (await kv.get(key!))?.json<{ heartbeatAt: number; kind: string; workerId: string }>();
    expect(first?.kind).toBe('agent-framework');
    expect(key).toBe(`live.af-weather.${first?.workerId}`);
    await waitFor(
      async () =>
        ((await kv.get(key!))?.json<{ heartbeatAt: number }>().heartbeatAt ?? 0) > first!.heartbeatAt,
      { what: 'a heartbeat' },
    );
    await bridges[3]!.kill('SIGTERM');
    expect(await liveKeys('af-weather')).toEqual([]);
    expect((await kv.get('pool.af-weather'))?.json<{ kind: string }>().kind).toBe('agent-framework');
  });

  it('a question survives the bridge’s death: the rerun writes restart and never asks twice', async () => {
    fake.script('book for tonight', { tokens: ['How', ' many', ' guests?'] });
    fake.script('two guests', { tokens: ['Done:', ' two.'] });
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 's', agent: 'ag2-human', input: 'book for tonight' });
    const sid = (await c.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => c.events(sid).find((e) => e.type === 'input_request'), {
      timeoutMs: 60_000,
      what: 'the input_request',
    });
    await bridges[2]!.kill('SIGKILL');
    bridges.push(
      await spawnBridge({
        builder: 'streamfabric_autogen.demos.ag2_pair:build_human',
        agent: 'ag2-human',
        env,
      }),
    );
    await waitFor(
      () => {
        const ev = c.events(sid);
        const restart = ev.findIndex((e) => e.type === 'restart');
        return restart >= 0 && ev.slice(restart).some((e) => e.type === 'message' && e.agent === 'assistant');
      },
      { timeoutMs: 60_000, what: 'the rerun to reach the question again' },
    );
    c.send({
      type: 'input',
      id: 'i',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: 'two guests',
    });
    expect((await c.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await c.finished(sid, 60_000);
    c.close();
    assertContiguous(events);
    expect(events.filter((e) => e.type === 'input_request')).toHaveLength(1);
    const restart = events.findIndex((e) => e.type === 'restart');
    expect(shape(events.slice(restart))).toEqual([
      'restart',
      'token:assistant*',
      'message:assistant',
      'input',
      'message:customer',
      'token:assistant*',
      'message:assistant',
      'usage',
      'done',
    ]);
  });
});
