import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinAnswerText, builtinText } from '../../services/worker/agents/builtin-model.js';
import { EVENTS_STREAM, SESSIONS_BUCKET } from '../../shared/nats/subjects.js';
import {
  assistantText,
  estimateTokens,
  foldConversation,
  type SessionEvent,
} from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

let fabric: TestFabric;
let nc: NatsConnection;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 2,
    workers: 2,
    gatewayEnv: { MAX_TURNS_PER_SESSION: '3' },
    workerEnv: { WORKER_ACK_WAIT_MS: '2000' },
  });
  nc = await connect({ servers: fabric.nats.urls });
});
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

const OPTS = { seed: 500, length: 25, tokensPerSecond: 400 };

async function turnDone(c: RawClient, sid: string, count: number): Promise<SessionEvent[]> {
  await waitFor(
    () =>
      c.events(sid).filter((e) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled').length >=
      count,
    {
      timeoutMs: 30_000,
      what: `turn ${count} of ${sid} to end`,
    },
  );
  return c.events(sid);
}

describe('conversations - multi-turn', () => {
  it('keeps a three-turn conversation in the log: turn 2 from another gateway, turn 3 from a second client', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'start', id: 's', input: 'first question', options: OPTS });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    await turnDone(a, sid, 1);
    a.terminate();

    // Turn 2: the same user on another gateway resumes and follows up.
    const b = await RawClient.connect(fabric.wsUrl(1));
    b.send({ type: 'resume', id: 'r', sid, after: 0 });
    await turnDone(b, sid, 1);
    b.send({ type: 'message', id: 'm2', sid, text: 'second question' });
    const m2 = await b.reply((r) => r.id === 'm2');
    expect(m2.ok).toBe(true);
    expect(m2.turn).toBe(2);
    await turnDone(b, sid, 2);

    // Turn 3: a second client (another device) sees the whole conversation, then continues it.
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'resume', id: 'r', sid, after: 0 });
    await turnDone(c, sid, 2);
    c.send({ type: 'message', id: 'm3', sid, text: 'third question' });
    expect((await c.reply((r) => r.id === 'm3')).ok).toBe(true);
    const events = await turnDone(c, sid, 3);
    assertContiguous(events);

    const conv = foldConversation(events);
    expect(conv.turns.map((t) => t.user)).toEqual(['first question', 'second question', 'third question']);
    conv.turns.forEach((t, i) => {
      expect(t.outcome).toBe('done');
      expect(t.assistant).toBe(builtinText(OPTS.seed + i, OPTS.length));
    });
    // The worker of turn 3 was given the full history, rebuilt from the log (prompt size proves it).
    const usage = events.filter((e) => e.type === 'usage').at(-1);
    expect(usage?.type === 'usage' && usage.promptTokens).toBe(
      estimateTokens(conv.turns.slice(0, 2), 'third question'),
    );
    expect(assistantText(conv.turns[0]!)).toBe(builtinText(OPTS.seed, OPTS.length));

    // The turn limit (3 here) is enforced with a typed error.
    c.send({ type: 'message', id: 'm4', sid, text: 'one too many' });
    const m4 = await c.reply((r) => r.id === 'm4');
    expect(m4.ok).toBe(false);
    expect(m4.error?.code).toBe('limit_exceeded');
    b.close();
    c.close();
  });

  it('refuses a follow-up while a turn is running with a typed busy error', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'start', id: 's', input: 'slow', options: { seed: 1, length: 400, tokensPerSecond: 50 } });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    await waitFor(() => a.events(sid).some((e) => e.type === 'token'), { what: 'first token' });
    a.send({ type: 'message', id: 'm', sid, text: 'too early' });
    const r = await a.reply((x) => x.id === 'm');
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe('busy');
    a.send({ type: 'cancel', sid });
    await a.finished(sid);
    a.close();
  });
});

describe('conversations - human in the loop', () => {
  it('an agent asks, the user answers on another gateway, and the answer is in the log and the reply', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({
      type: 'start',
      id: 's',
      input: 'ask me',
      options: { ...OPTS, askUser: { prompt: 'Which colour?', options: ['red', 'blue'] } },
    });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => a.events(sid).find((e) => e.type === 'input_request'), {
      what: 'input_request',
    });
    expect(req.type === 'input_request' && req.options).toEqual(['red', 'blue']);
    const kv = await new Kvm(nc).open(SESSIONS_BUCKET);
    await waitFor(async () => (await kv.get(sid))?.json<{ state: string }>().state === 'waiting_for_input', {
      what: 'waiting_for_input state',
    });

    const b = await RawClient.connect(fabric.wsUrl(1));
    b.send({
      type: 'input',
      id: 'i',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: 'blue',
    });
    expect((await b.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await a.finished(sid);
    assertContiguous(events);
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(['user_message', 'input_request', 'input']);
    const conv = foldConversation(events);
    expect(conv.turns[0]!.assistant).toBe(builtinAnswerText('blue', OPTS.seed, OPTS.length));
    expect(conv.turns[0]!.inputs[0]!.answer).toBe('blue');
    // A second answer to the same request is refused: it is no longer pending.
    b.send({
      type: 'input',
      id: 'i2',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: 'red',
    });
    expect((await b.reply((r) => r.id === 'i2')).error?.code).toBe('invalid_argument');
    a.close();
    b.close();
  });

  // A worker killed while waiting (the question is never asked twice): the conformance suite's
  // `human` scenario (test/conformance/scenarios.ts), for every worker implementation.

  it('a question nobody answers ends the turn with a typed input_timeout error', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({
      type: 'start',
      id: 's',
      input: 'ignore me',
      options: { ...OPTS, askUser: { prompt: 'Hello?', timeoutMs: 300 } },
    });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    const events = await a.finished(sid);
    const last = events.at(-1)!;
    expect(last.type === 'error' && last.error.code).toBe('input_timeout');
    a.close();
  });
});

describe('conversations - delete', () => {
  it('purges the log and the registry entry; the session is then gone on every gateway', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'start', id: 's', input: 'forget me', options: OPTS });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    await a.finished(sid);
    a.send({ type: 'delete', id: 'd', sid });
    expect((await a.reply((r) => r.id === 'd')).ok).toBe(true);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: `fabric.ev.public.${sid}` });
    expect(info.state.subjects?.[`fabric.ev.public.${sid}`] ?? 0).toBe(0);
    const b = await RawClient.connect(fabric.wsUrl(1));
    b.send({ type: 'resume', id: 'r', sid, after: 0 });
    expect((await b.reply((r) => r.id === 'r')).error?.code).toBe('not_found');
    b.send({ type: 'message', id: 'm', sid, text: 'still there?' });
    expect((await b.reply((r) => r.id === 'm')).error?.code).toBe('not_found');
    a.close();
    b.close();
  });
});
