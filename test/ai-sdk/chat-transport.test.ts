import { Chat } from '@ai-sdk/react';
import type { UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricChatTransport } from '../../client/src/ai-sdk/index.js';
import { isTerminalEvent, type SessionEvent, StreamFabricClient } from '../../client/src/index.js';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinAnswerText, builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous } from '../harness/raw-client.js';
import { FakeOpenAi } from '../openai/fake-openai-server.js';
import { autogenTeamSpeeches, MemoryStorage, messageText, textParts } from './ai-sdk-helpers.js';

// The AI SDK's own chat engine (`Chat` of @ai-sdk/react, what useChat runs) driven from Node
// through the StreamFabric transport, against real gateways, a real TypeScript worker (built-in
// and OpenAI agents, the latter on a local fake of the API) and real AutoGen bridges.
let fabric: TestFabric;
let fake: FakeOpenAi;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  ensurePython();
  fake = await FakeOpenAi.start();
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    workerEnv: {
      WORKER_AGENTS: 'builtin,openai',
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: 'sk-test-fake',
      OPENAI_MAX_RETRIES: '0',
    },
  });
  const env = { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info' };
  bridges.push(
    ...(await Promise.all([
      spawnBridge({ builder: 'streamfabric_autogen.demo:team', agent: 'autogen-demo', env }),
      spawnBridge({ builder: 'streamfabric_autogen.demo:desk', agent: 'autogen-desk', env }),
    ])),
  );
}, 600_000);
afterAll(async () => {
  await Promise.allSettled(bridges.map((b) => b.kill('SIGKILL')));
  await fabric?.stop();
  await fake?.stop();
});

let chats = 0;
function newChat(
  opts: Partial<ConstructorParameters<typeof StreamFabricChatTransport>[0]> = {},
  id = `c${++chats}`,
) {
  const transport = new StreamFabricChatTransport({
    url: fabric.wsUrl(0),
    WebSocket: WebSocket as never,
    storage: new MemoryStorage(),
    ...opts,
  });
  return { chat: new Chat<UIMessage>({ id, transport }), transport, id };
}

/** The session's log from seq 0, read independently of the transport, through its `turns`-th turn's end. */
async function logOf(sid: string, turns = 1): Promise<SessionEvent[]> {
  const client = new StreamFabricClient({ url: fabric.wsUrl(0), WebSocket: WebSocket as never });
  const s = await client.resume(sid, 0);
  await waitFor(() => s.events.filter((e) => isTerminalEvent(e)).length >= turns, {
    what: `${turns} turn(s)`,
  });
  client.close();
  return [...s.events];
}

describe('ai-sdk transport - text and conversations', () => {
  it('streams a built-in answer as one text part equal to the model text, then a follow-up turn on the same session', async () => {
    const { chat, transport, id } = newChat({ options: { seed: 11, length: 60, tokensPerSecond: 400 } });
    await chat.sendMessage({ text: 'Tell me about durable streams' });
    expect(chat.status).toBe('ready');
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const answer = chat.messages[1]!;
    expect(textParts(answer)).toEqual([{ agent: undefined, text: builtinText(11, 60) }]);
    const sid = transport.sessionId(id)!;
    expect(answer.metadata).toMatchObject({ sid, turnSeq: 1, finishReason: 'stop', tokens: 60 });

    await chat.sendMessage({ text: 'And shorter?' });
    expect(chat.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    // The built-in model's next turn uses seed + 1; the same session carries the conversation.
    expect(messageText(chat.messages[3])).toBe(builtinText(12, 60));
    expect(transport.sessionId(id)).toBe(sid);
    const log = await logOf(sid, 2);
    assertContiguous(log);
    expect(
      log.filter((e) => e.type === 'user_message').map((e) => e.type === 'user_message' && e.text),
    ).toEqual(['Tell me about durable streams', 'And shorter?']);
    transport.close();
  });

  it('shows each agent of an AutoGen team as its own text part named by the agent, with the model’s exact text', async () => {
    const { chat, transport } = newChat({ agent: 'autogen-demo', options: { length: 20 } });
    await chat.sendMessage({ text: 'plan a trip' });
    expect(chat.status).toBe('ready');
    expect(textParts(chat.messages[1])).toEqual(autogenTeamSpeeches('plan a trip', 20));
    expect(chat.messages[1]!.metadata).toMatchObject({
      finishReason: expect.stringMatching(/Maximum number of messages/),
    });
    transport.close();
  });

  it('shows a tool call and its result (an AutoGen handoff) as a dynamic tool part', async () => {
    const { chat, transport } = newChat({ agent: 'autogen-desk' });
    await chat.sendMessage({ text: 'I want a refund' });
    const tools = chat.messages[1]!.parts.filter((p) => p.type === 'dynamic-tool');
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({
      toolName: 'transfer_to_user',
      toolCallId: 'handoff_1',
      input: {},
      state: 'output-available',
    });
    transport.close();
  });
});

describe('ai-sdk transport - human in the loop', () => {
  it('an agent’s question is a data-input-request part; answer() lets the turn go on', async () => {
    const askUser = { prompt: 'Who is it for?', options: ['engineers', 'executives'] };
    const { chat, transport, id } = newChat({ options: { seed: 61, length: 30, askUser } });
    const sending = chat.sendMessage({ text: 'Explain durable streams' });
    const question = await waitFor(
      () =>
        chat.messages[1]?.parts.find((p) => p.type === 'data-input-request') as
          | { data: { requestId: string; prompt: string; options: string[] } }
          | undefined,
      { timeoutMs: 20_000, what: 'the question' },
    );
    expect(question.data).toMatchObject({ prompt: 'Who is it for?', options: ['engineers', 'executives'] });
    transport.answer(id, question.data.requestId, 'engineers');
    await sending;
    expect(chat.status).toBe('ready');
    expect(messageText(chat.messages[1])).toBe(builtinAnswerText('engineers', 61, 30));
    transport.close();
  });
});

describe('ai-sdk transport - errors and cancel', () => {
  it('a worker error ends the turn: useChat’s status is error with the typed code and message', async () => {
    fake.script('Break please', { status: 400, errorMessage: 'the prompt is not allowed' });
    const { chat, transport, id } = newChat({ agent: 'openai' });
    await chat.sendMessage({ text: 'Break please' });
    expect(chat.status).toBe('error');
    const log = await logOf(transport.sessionId(id)!);
    const last = log.at(-1)!;
    expect(last.type).toBe('error');
    if (last.type === 'error') expect(chat.error?.message).toBe(`${last.error.code}: ${last.error.message}`);
    expect(chat.error?.message).toMatch(/the prompt is not allowed/);
    transport.close();
  });

  it('a start the gateway refuses (bad options) surfaces as a typed error, and the chat’s next message starts a session that works', async () => {
    const { chat, transport } = newChat({ options: { length: 0 } });
    await chat.sendMessage({ text: 'hello' });
    expect(chat.status).toBe('error');
    expect(chat.error?.message).toMatch(/^invalid_argument: options.length/);
    // The same chat tries again with options of the request's body: a new session, which works.
    await chat.sendMessage({ text: 'hello' }, { body: { options: { seed: 3, length: 5 } } });
    expect(chat.status).toBe('ready');
    expect(messageText(chat.messages.at(-1))).toBe(builtinText(3, 5));
    transport.close();
  });

  it('stop() cancels the turn on the worker: the log ends with cancelled, long before the answer’s end', async () => {
    const { chat, transport, id } = newChat({ options: { seed: 5, length: 5000, tokensPerSecond: 50 } });
    const sending = chat.sendMessage({ text: 'talk for a long time' });
    await waitFor(() => messageText(chat.messages[1]).length > 20, {
      timeoutMs: 20_000,
      what: 'first tokens',
    });
    await chat.stop();
    await sending;
    expect(chat.status).toBe('ready');
    const sid = transport.sessionId(id)!;
    const log = await waitFor(
      async () => {
        const l = await logOf(sid);
        return l.at(-1)?.type === 'cancelled' ? l : null;
      },
      { timeoutMs: 20_000, what: 'cancelled in the log' },
    );
    assertContiguous(log);
    expect(log.filter((e) => e.type === 'token').length).toBeLessThan(1000);
    expect(builtinText(5, 5000).startsWith(messageText(chat.messages[1]))).toBe(true);
    // A message sent right after Stop is the session's next turn (sent once `cancelled` is in).
    const again = chat.sendMessage({ text: 'next' });
    await waitFor(() => messageText(chat.messages[3]).length > 20, {
      timeoutMs: 20_000,
      what: 'turn 2 tokens',
    });
    expect(builtinText(6, 5000).startsWith(messageText(chat.messages[3]))).toBe(true);
    await chat.stop();
    await again;
    expect(chat.error).toBeUndefined();
    transport.close();
  });
});

describe('ai-sdk transport - resume', () => {
  it('reconnectToStream after a reload replays the unfinished turn whole from storage, on another gateway', async () => {
    const storage = new MemoryStorage();
    const a = newChat({ storage, options: { seed: 21, length: 150, tokensPerSecond: 60 } }, 'reload-chat');
    const sending = a.chat.sendMessage({ text: 'a long answer' });
    await waitFor(() => messageText(a.chat.messages[1]).length > 30, {
      timeoutMs: 20_000,
      what: 'first tokens',
    });
    // The page goes away mid-answer: its connection closes; nothing was cancelled.
    a.transport.client.close();
    await sending;
    const other = await fabric.addGateway();
    const b = new StreamFabricChatTransport({
      url: `ws://127.0.0.1:${other.port}/v1/ws`,
      WebSocket: WebSocket as never,
      storage,
    });
    const chat = new Chat<UIMessage>({ id: 'reload-chat', transport: b });
    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(chat.messages.map((m) => m.role)).toEqual(['assistant']);
    expect(textParts(chat.messages[0])).toEqual([{ agent: undefined, text: builtinText(21, 150) }]);
    // The turn was seen to end: a later reload has nothing to resume.
    expect(await b.reconnectToStream({ chatId: 'reload-chat' })).toBeNull();
    // And the chat goes on: a follow-up turn on the same session.
    await chat.sendMessage({ text: 'more' });
    expect(messageText(chat.messages.at(-1))).toBe(builtinText(22, 150));
    b.close();
  });

  it('a reload in the second turn of a conversation replays that turn (the client follows a replay past turn 1)', async () => {
    const storage = new MemoryStorage();
    const a = newChat({ storage, options: { seed: 41, length: 120, tokensPerSecond: 60 } }, 'two-turns');
    await a.chat.sendMessage({ text: 'first' });
    const sending = a.chat.sendMessage({ text: 'second' });
    await waitFor(() => messageText(a.chat.messages[3]).length > 30, {
      timeoutMs: 20_000,
      what: 'turn 2 tokens',
    });
    a.transport.client.close();
    await sending;
    const b = new StreamFabricChatTransport({ url: fabric.wsUrl(0), WebSocket: WebSocket as never, storage });
    const chat = new Chat<UIMessage>({ id: 'two-turns', transport: b });
    await chat.resumeStream();
    expect(chat.status).toBe('ready');
    expect(textParts(chat.messages[0])).toEqual([{ agent: undefined, text: builtinText(42, 120) }]);
    expect(chat.messages[0]!.metadata).toMatchObject({ finishReason: 'stop' });
    b.close();
  });

  it('a resume replaced by another (React StrictMode mounts twice) does not cancel: the second shows the whole answer', async () => {
    const storage = new MemoryStorage();
    const a = newChat({ storage, options: { seed: 51, length: 120, tokensPerSecond: 60 } }, 'strict-chat');
    const sending = a.chat.sendMessage({ text: 'twice mounted' });
    await waitFor(() => messageText(a.chat.messages[1]).length > 30, {
      timeoutMs: 20_000,
      what: 'first tokens',
    });
    a.transport.client.close();
    await sending;
    const b = new StreamFabricChatTransport({ url: fabric.wsUrl(0), WebSocket: WebSocket as never, storage });
    const chat = new Chat<UIMessage>({ id: 'strict-chat', transport: b });
    await Promise.all([chat.resumeStream(), chat.resumeStream()]);
    expect(chat.status).toBe('ready');
    expect(textParts(chat.messages[0])).toEqual([{ agent: undefined, text: builtinText(51, 120) }]);
    expect((await logOf(b.sessionId('strict-chat')!)).at(-1)?.type).toBe('done');
    b.close();
  });

  it('a gateway killed mid-answer: the stream continues on the next gateway with the full text', async () => {
    const doomed = await fabric.addGateway();
    const { chat, transport } = newChat({
      url: [`ws://127.0.0.1:${doomed.port}/v1/ws`, fabric.wsUrl(0)],
      options: { seed: 31, length: 150, tokensPerSecond: 60 },
    });
    const sending = chat.sendMessage({ text: 'survive a gateway' });
    await waitFor(() => messageText(chat.messages[1]).length > 30, {
      timeoutMs: 20_000,
      what: 'first tokens',
    });
    await doomed.kill('SIGKILL');
    await sending;
    expect(chat.status).toBe('ready');
    expect(textParts(chat.messages[1])).toEqual([{ agent: undefined, text: builtinText(31, 150) }]);
    transport.close();
  });
});
