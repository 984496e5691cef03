import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { FakeOpenAi } from './fake-openai-server.js';

let fake: FakeOpenAi;
let fabric: TestFabric;
// A short ack wait so the lost worker's job comes back quickly.
const workerEnv = () => ({
  WORKER_AGENTS: 'openai',
  OPENAI_BASE_URL: fake.baseUrl,
  OPENAI_API_KEY: 'sk-test-fake',
  WORKER_ACK_WAIT_MS: '2000',
});

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  fabric = await startFabric({ gateways: 1, workers: 0 });
  await fabric.addWorker(workerEnv());
});
afterAll(async () => {
  await fabric?.stop();
  await fake?.stop();
});

describe('openai agent - worker lost', () => {
  it('a redelivered OpenAI job reruns the request: restart with mode rerun, then the whole answer', async () => {
    const slow = Array.from({ length: 300 }, (_, i) => ` s${i}`);
    const answer = ['The', ' full', ' answer', '.'];
    fake.script('Rerun me', { tokens: slow, tokenDelayMs: 30 }, { tokens: answer });
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 'x1', agent: 'openai', input: 'Rerun me', options: { flushIntervalMs: 0 } });
    const sid = (await c.reply((r) => r.id === 'x1')).sid!;
    await waitFor(() => c.events(sid).length >= 3, { what: 'first tokens' });
    await fabric.workers[0]!.kill('SIGKILL');
    await fabric.addWorker(workerEnv());

    const events = await c.finished(sid, 45_000);
    assertContiguous(events);
    const restartAt = events.findIndex((e) => e.type === 'restart');
    expect(events[restartAt]).toMatchObject({ type: 'restart', mode: 'rerun', attempt: 2 });
    // Before the restart: a prefix of the lost attempt; after it: the new attempt's whole answer.
    expect(slow.join('').startsWith(tokenText(events.slice(0, restartAt)))).toBe(true);
    expect(tokenText(events.slice(restartAt))).toBe(answer.join(''));
    expect(events.at(-1)).toMatchObject({ type: 'done', attempt: 2 });
    const [lost, rerun] = fake.requestsFor('Rerun me');
    expect(rerun?.completed).toBe(true);
    // The dead worker's connection closed with it: the provider stopped generating.
    await waitFor(() => lost!.clientClosed, { what: 'the lost request to be closed' });
    c.close();
  });
});
