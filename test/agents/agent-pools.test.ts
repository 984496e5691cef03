import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { JOBS_STREAM, subjects, workerConsumerName } from '../../shared/nats/subjects.js';
import type { AgentList, Job, SessionStatus } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';
import { FakeOpenAi } from '../openai/fake-openai-server.js';

// Real nats-server, gateway and worker processes. Heartbeats are short so liveness changes fast
// (a worker counts as live for 3 x 1 s after its last heartbeat), yet long enough that a loaded
// 2-core machine never misses three in a row.
const HEARTBEAT_MS = 1_000;
const QUEUE_TIMEOUT_MS = 2_500;
let fake: FakeOpenAi;
let fabric: TestFabric;
let client: RawClient;
let nc: NatsConnection;
let openai: OpenAI;

const openaiWorkerEnv = () => ({
  WORKER_AGENTS: 'openai',
  OPENAI_BASE_URL: fake.baseUrl,
  OPENAI_API_KEY: 'sk-test-fake',
  OPENAI_MODEL: 'fake-model-1',
});

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    env: { AGENT_HEARTBEAT_MS: String(HEARTBEAT_MS) },
    gatewayEnv: { AGENT_QUEUE_TIMEOUT_MS: String(QUEUE_TIMEOUT_MS) },
  });
  client = await RawClient.connect(fabric.wsUrl(0));
  nc = await connect({ servers: fabric.nats.urls.split(',') });
  openai = new OpenAI({ baseURL: `${fabric.httpUrl(0)}/v1`, apiKey: 'none', maxRetries: 0 });
});
afterAll(async () => {
  client?.close();
  await nc?.close();
  await fabric?.stop();
  await fake?.stop();
});

async function agents(): Promise<AgentList['agents']> {
  const r = await fetch(`${fabric.httpUrl(0)}/v1/agents`);
  expect(r.status).toBe(200);
  return ((await r.json()) as AgentList).agents;
}
const liveOf = async (agent: string) => (await agents()).find((a) => a.agent === agent)?.liveWorkers;
const modelIds = async () => (await openai.models.list()).data.map((m) => m.id);

async function status(sid: string): Promise<SessionStatus> {
  const r = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}`);
  expect(r.status).toBe(200);
  return (await r.json()) as SessionStatus;
}

let n = 0;
async function startOn(agent: string, input = 'hello') {
  const id = `r${++n}`;
  client.send({ type: 'start', id, agent, input, options: { length: 8, tokensPerSecond: 0 } });
  return client.reply((r) => r.id === id);
}

describe('agent pools - unknown agents', () => {
  it('a start for an agent no pool declared is refused at once on the WebSocket, with a typed error', async () => {
    const t0 = Date.now();
    const reply = await startOn('no-such-agnet');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(reply.ok).toBe(false);
    expect(reply.error).toMatchObject({ code: 'unknown_agent', retryable: false });
    expect(reply.error?.message).toContain('"no-such-agnet"');
    // Nothing internal in the message: no NATS names, subjects, addresses or paths.
    expect(reply.error?.message).not.toMatch(/nats|fabric\.|FABRIC_|127\.0\.0\.1|\/work|\.ts|\.js/i);
    // The known agent on the same connection is unharmed.
    const ok = await startOn('builtin');
    expect(ok.ok).toBe(true);
    expect(ok.queueReason).toBeUndefined();
    expect((await client.finished(ok.sid!)).at(-1)?.type).toBe('done');
  });

  it('an unknown model on /v1/chat/completions is OpenAI 404 model_not_found through the official SDK (stream and not)', async () => {
    for (const stream of [true, false]) {
      const err = await openai.chat.completions
        .create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], stream })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      const e = err as InstanceType<typeof OpenAI.NotFoundError>;
      expect(e.status).toBe(404);
      expect(e.code).toBe('model_not_found');
      expect(e.param).toBe('model');
      expect(e.type).toBe('invalid_request_error');
      expect(e.message).toContain('no-such-model');
    }
    // The raw body is exactly OpenAI's error shape.
    const r = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'Not An Agent!',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    });
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    // A known model still streams.
    const s = await openai.chat.completions.create({
      model: 'builtin',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta.content ?? '';
    expect(text.length).toBeGreaterThan(0);
  });
});

describe('agent pools - directory, liveness, queue timeout', () => {
  let openaiWorker: ServiceProcess;

  it('GET /v1/agents and GET /v1/models follow workers starting, stopping (SIGTERM) and dying (SIGKILL)', async () => {
    expect(await agents()).toEqual([
      expect.objectContaining({ agent: 'builtin', kind: 'builtin', liveWorkers: 1 }),
    ]);
    expect(await modelIds()).toEqual(['builtin']);
    // A worker that reported ready has declared: the gateway knows at once.
    openaiWorker = await fabric.addWorker(openaiWorkerEnv());
    await waitFor(async () => (await liveOf('openai')) === 1, { what: 'openai live on /v1/agents' });
    expect((await agents()).find((a) => a.agent === 'openai')?.kind).toBe('openai');
    expect((await modelIds()).sort()).toEqual(['builtin', 'openai']);
    const second = await fabric.addWorker(openaiWorkerEnv());
    await waitFor(async () => (await liveOf('openai')) === 2, { what: 'two openai workers' });
    // Graceful stop deletes the live key: counted out well before the 3-heartbeat expiry.
    await second.kill('SIGTERM');
    await waitFor(async () => (await liveOf('openai')) === 1, { what: 'SIGTERM to be counted out' });
    // SIGKILL leaves the key: it expires after 3 missed heartbeats.
    await openaiWorker.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await liveOf('openai')) === 0, {
      timeoutMs: 15_000,
      what: 'heartbeat expiry',
    });
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(HEARTBEAT_MS); // not dropped at once
    // The pool stays declared (known), only its liveness changed; /v1/models lists live agents only.
    expect((await agents()).map((a) => a.agent)).toEqual(['builtin', 'openai']);
    expect(await modelIds()).toEqual(['builtin']);
  });

  it('a known agent with no live worker stays queued (status says why), then times out with a typed retryable error; a late worker does not write over it', async () => {
    const reply = await startOn('openai', 'is anyone there?');
    expect(reply.ok).toBe(true);
    expect(reply.queueReason).toBe('no_live_worker');
    const sid = reply.sid!;
    const queued = await status(sid);
    expect(queued).toMatchObject({ state: 'queued', queueReason: 'no_live_worker', lastSeq: 1 });
    // The job waits in the queue (a scaler sees it as pending).
    const jsm = await jetstreamManager(nc);
    const pending = async () =>
      (await jsm.consumers.info(JOBS_STREAM, workerConsumerName('openai'))).num_pending;
    expect(await pending()).toBe(1);

    const events = await client.finished(sid, QUEUE_TIMEOUT_MS + 15_000);
    expect(events.map((e) => e.type)).toEqual(['user_message', 'error']);
    const err = events[1]!;
    if (err.type !== 'error') throw new Error('expected an error event');
    expect(err.error).toMatchObject({ code: 'queue_timeout', retryable: true });
    expect(err.error.message).toContain('"openai"');
    await waitFor(async () => (await status(sid)).state === 'idle', {
      what: 'session idle after the timeout',
    });
    expect(await pending()).toBe(0); // the timed-out job left the queue

    // The worst case: the job is still queued (as if removing it had failed) when a worker arrives.
    const job: Job = {
      v: 1,
      sid,
      tenant: 'public',
      user: 'anonymous',
      agent: 'openai',
      input: 'is anyone there?',
      options: {},
      turn: 1,
      createdAt: Date.now(),
    };
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    await js.publish(subjects.job('openai'), JSON.stringify(job));
    const requestsBefore = fake.requests.length;
    await fabric.addWorker(openaiWorkerEnv());
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(JOBS_STREAM, workerConsumerName('openai'));
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { timeoutMs: 15_000, what: 'the late worker to take and settle the stale job' },
    );
    expect(fake.requests.length).toBe(requestsBefore); // it never called the model for the dead turn
    const after = await status(sid);
    expect(after).toMatchObject({ lastSeq: 2, lastEventType: 'error', state: 'idle' });

    // The session goes on: a follow-up turn runs on the now-live worker, the log stays contiguous.
    client.send({ type: 'message', id: 'm1', sid, text: 'now?' });
    const m = await client.reply((r) => r.id === 'm1');
    expect(m.ok).toBe(true);
    expect(m.queueReason).toBeUndefined();
    await waitFor(() => client.events(sid).some((e) => e.type === 'done'), {
      timeoutMs: 20_000,
      what: 'turn 2 done',
    });
    const all = client.events(sid);
    assertContiguous(all);
    expect(all.filter((e) => e.type === 'error' || e.type === 'done').map((e) => e.type)).toEqual([
      'error',
      'done',
    ]);
  });
});
