import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { foldConversation } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';
import { FakeOpenAi } from './fake-openai-server.js';

// The OpenAI path of conversations: history rebuilt from the log is sent to the provider, and the
// built-in `ask_user` tool lets the model ask the user (human in the loop) through the fabric.
let fake: FakeOpenAi;
let fabric: TestFabric;

beforeAll(async () => {
  fake = await FakeOpenAi.start();
  fabric = await startFabric({
    gateways: 2,
    workers: 1,
    workerEnv: {
      WORKER_AGENTS: 'openai',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: 'sk-test-fake',
      OPENAI_MODEL: 'fake-model-1',
      OPENAI_ASK_USER_TOOL: 'true',
      OPENAI_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await fabric?.stop();
  await fake?.stop();
});

describe('openai agent - conversations', () => {
  it('asks the user through the ask_user tool, waits for the answer given on another gateway, then answers', async () => {
    fake.script(
      'Book a table',
      {
        toolCalls: [
          {
            id: 'call_q',
            name: 'ask_user',
            arguments: '{"question":"For how many people?","options":["2","4"]}',
          },
        ],
      },
      { tokens: ['Booked', ' for', ' 4.'] },
    );
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({
      type: 'start',
      id: 's',
      agent: 'openai',
      input: 'Book a table',
      options: { flushIntervalMs: 0 },
    });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => a.events(sid).find((e) => e.type === 'input_request'), {
      what: 'input_request',
    });
    expect(req).toMatchObject({ prompt: 'For how many people?', options: ['2', '4'] });

    const b = await RawClient.connect(fabric.wsUrl(1));
    b.send({
      type: 'input',
      id: 'i',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: '4',
    });
    expect((await b.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await a.finished(sid);
    assertContiguous(events);
    // Each model round reports its own usage.
    expect(events.filter((e) => e.type === 'usage')).toHaveLength(2);
    expect(events.filter((e) => e.type !== 'usage').map((e) => e.type)).toEqual([
      'user_message',
      'tool_call',
      'input_request',
      'input',
      'tool_result',
      'token',
      'token',
      'token',
      'done',
    ]);
    expect(events.find((e) => e.type === 'tool_result')).toMatchObject({ id: 'call_q', result: '4' });
    // The provider got the answer as the tool's result.
    const second = fake.requestsFor('Book a table')[1]!;
    expect(second.messages.at(-1)).toMatchObject({ role: 'tool', content: '4' });

    // A follow-up turn: the provider receives the whole conversation, rebuilt from the log.
    b.send({ type: 'message', id: 'm', sid, text: 'Thanks!' });
    expect((await b.reply((r) => r.id === 'm')).ok).toBe(true);
    await waitFor(
      () =>
        b.events(sid).filter((e) => e.type === 'done').length >= 1 &&
        foldConversation(b.events(sid)).turns.length === 2 &&
        foldConversation(b.events(sid)).turns[1]!.outcome,
      { what: 'turn 2 to end' },
    );
    const followUp = fake.requestsFor('Thanks!')[0]!;
    expect(followUp.messages).toEqual([
      { role: 'user', content: 'Book a table' },
      { role: 'assistant', content: '(asked the user) For how many people?' },
      { role: 'user', content: '4' },
      { role: 'assistant', content: 'Booked for 4.' },
      { role: 'user', content: 'Thanks!' },
    ]);
    expect(foldConversation(b.events(sid)).turns[1]!.assistant).toBe('echo: Thanks!');
    a.close();
    b.close();
  });
});
