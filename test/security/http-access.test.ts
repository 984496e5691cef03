import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import type { SessionEvent } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';
import { hsToken, TEST_SECRET, type TokenClaims } from '../harness/tokens.js';

// The HTTP session APIs, the streaming routes (SSE, OpenAI-compatible) and the conversation
// frames get the same authentication, ownership checks and input limit as start/resume/cancel.
let fabric: TestFabric;
let sid: string;
let alice: RawClient;

const token = (c: TokenClaims) => hsToken({ tenant: 'acme', ...c });
const bearer = async (c: TokenClaims) => ({ authorization: `Bearer ${await token(c)}` });
const connect = async (c: TokenClaims) =>
  RawClient.connect(fabric.wsUrl(0), ['streamfabric.v1', `bearer.${await token(c)}`]);
const get = async (path: string, headers: Record<string, string> = {}) =>
  fetch(`${fabric.httpUrl(0)}${path}`, { headers });
const codeOf = async (r: Response) => ((await r.json()) as { error: { code: string } }).error.code;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: TEST_SECRET,
      MAX_INPUT_CHARS: '1000',
      // The heartbeat tick also ends streams whose token expired: keep it short here.
      STREAM_HEARTBEAT_INTERVAL: '500',
    },
  });
  alice = await connect({ sub: 'alice' });
  alice.send({ type: 'start', id: 1, input: 'hi', options: { seed: 8, length: 20, tokensPerSecond: 0 } });
  sid = (await alice.reply((r) => r.id === 1)).sid!;
  await alice.finished(sid);
});
afterAll(async () => {
  alice?.close();
  await fabric?.stop();
});

describe('authz - HTTP session APIs and streaming routes', () => {
  it('need a token (the seed health alias stays public)', async () => {
    for (const path of ['/v1/sessions', `/v1/sessions/${sid}`, `/v1/sessions/${sid}/events`]) {
      const r = await get(path);
      expect({ path, status: r.status }).toEqual({ path, status: 401 });
    }
    const chat = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'builtin', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(chat.status).toBe(401);
    expect((await get('/api/v1/stream/health')).status).toBe(200);
  });

  it("refuse another user's session and list only the caller's tenant", async () => {
    const bob = await bearer({ sub: 'bob' });
    expect(await codeOf(await get(`/v1/sessions/${sid}`, bob))).toBe('forbidden');
    expect(await codeOf(await get(`/v1/sessions/${sid}/events`, bob))).toBe('forbidden');
    const cancel = await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/cancel`, {
      method: 'POST',
      headers: bob,
    });
    expect(cancel.status).toBe(403);
    const resume = await fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...bob, 'content-type': 'application/json', 'x-streamfabric-resume': `${sid}:0` },
      body: JSON.stringify({ model: 'builtin', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(resume.status).toBe(403);
    const globex = await bearer({ sub: 'alice', tenant: 'globex' });
    const theirs = (await (await get('/v1/sessions', globex)).json()) as { sessions: { sid: string }[] };
    expect(theirs.sessions.map((s) => s.sid)).not.toContain(sid);
    expect((await get('/v1/sessions?tenant=acme', globex)).status).toBe(403);
  });

  it('serve the owner: status, list and the SSE stream', async () => {
    const me = await bearer({ sub: 'alice' });
    expect(((await (await get(`/v1/sessions/${sid}`, me)).json()) as { sid: string }).sid).toBe(sid);
    const mine = (await (await get('/v1/sessions', me)).json()) as { sessions: { sid: string }[] };
    expect(mine.sessions.map((s) => s.sid)).toContain(sid);
    const sse = await get(`/v1/sessions/${sid}/events`, me);
    expect(sse.status).toBe(200);
    const text = await sse.text(); // the session is finished: the stream ends after its events
    const tokens = [...text.matchAll(/^data: (.*)$/gm)]
      .map((m) => JSON.parse(m[1]!) as { type: string; text?: string })
      .filter((e) => e.type === 'token');
    expect(tokens.map((e) => e.text).join('')).toBe(builtinText(8, 20));
  });
});

describe('authz - a token that expires while an HTTP stream is open', () => {
  it('ends the SSE and the OpenAI-compatible streams with a typed unauthenticated error', async () => {
    // A long answer (about 60 s): both streams are still running when their 2 s tokens expire.
    alice.send({
      type: 'start',
      id: 'slow',
      input: 'slow',
      options: { seed: 9, length: 300, tokensPerSecond: 5 },
    });
    const slow = (await alice.reply((r) => r.id === 'slow')).sid!;
    const short = { authorization: `Bearer ${await token({ sub: 'alice', expiresIn: 2 })}` };
    const t0 = Date.now();
    // Both streams open at once, while the token is valid; each must end when it expires.
    const [sseRes, chat] = await Promise.all([
      get(`/v1/sessions/${slow}/events`, short),
      fetch(`${fabric.httpUrl(0)}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...short, 'content-type': 'application/json', 'x-streamfabric-resume': `${slow}:0` },
        body: JSON.stringify({ model: 'builtin', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      }),
    ]);
    expect([sseRes.status, chat.status]).toEqual([200, 200]);
    const [sse, body] = await Promise.all([sseRes.text(), chat.text()]);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(sse).toMatch(/^event: error\ndata: .*"code":"unauthenticated"/m);
    expect(body).toMatch(/^data: \{"error":\{"code":"unauthenticated"/m);
    expect(body).not.toContain('[DONE]');
    // The session itself goes on: a fresh token resumes it.
    const fresh = await bearer({ sub: 'alice' });
    const status = (await (await get(`/v1/sessions/${slow}`, fresh)).json()) as { state: string };
    expect(status.state).toBe('running');
    alice.send({ type: 'cancel', id: 'stop', sid: slow });
    await alice.reply((r) => r.id === 'stop');
  }, 60_000);
});

describe('authz - conversation frames', () => {
  it('message, input and delete check ownership; MAX_INPUT_CHARS applies to message and input', async () => {
    const bob = await connect({ sub: 'bob' });
    bob.send({ type: 'message', id: 'm', sid, text: 'hijack' });
    bob.send({ type: 'input', id: 'i', sid, requestId: 'r1', text: 'yes' });
    bob.send({ type: 'delete', id: 'd', sid });
    const codes = await Promise.all(
      ['m', 'i', 'd'].map(async (id) => (await bob.reply((r) => r.id === id)).error?.code),
    );
    expect(codes).toEqual(['forbidden', 'forbidden', 'forbidden']);
    bob.close();
    const long = 'x'.repeat(1001);
    alice.send({ type: 'message', id: 'long', sid, text: long });
    alice.send({ type: 'input', id: 'longi', sid, requestId: 'r1', text: long });
    expect((await alice.reply((r) => r.id === 'long')).error?.code).toBe('limit_exceeded');
    expect((await alice.reply((r) => r.id === 'longi')).error?.code).toBe('limit_exceeded');
    // The owner's follow-up turn still works and streams its answer.
    alice.send({ type: 'message', id: 'ok', sid, text: 'more please' });
    expect((await alice.reply((r) => r.id === 'ok')).turn).toBe(2);
    const ended = (e: SessionEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
    await waitFor(() => alice.events(sid).filter(ended).length === 2, { timeoutMs: 30_000, what: 'turn 2' });
    const events = alice.events(sid);
    const userTexts = events.flatMap((e) => (e.type === 'user_message' ? [e.text] : []));
    expect(userTexts).toEqual(['hi', 'more please']);
    expect(events.at(-1)!.type).toBe('done');
  });
});
