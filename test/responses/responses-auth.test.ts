import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { hsToken, TEST_SECRET, type TokenClaims } from '../harness/tokens.js';

// The Responses door gets the same authentication, ownership, tenancy, input limit and token
// expiry as the other HTTP doors (JWT mode, real gateways).
let fabric: TestFabric;
const token = (c: TokenClaims) => hsToken({ tenant: 'acme', ...c });
const client = async (c: TokenClaims, i = 0) =>
  new OpenAI({ baseURL: `${fabric.httpUrl(i)}/v1`, apiKey: await token(c), maxRetries: 0 });
type Extras = { streamfabric?: Record<string, unknown> };

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 2,
    workers: 1,
    gatewayEnv: {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: TEST_SECRET,
      MAX_INPUT_CHARS: '1000',
      STREAM_HEARTBEAT_INTERVAL: '500', // the tick that ends streams whose token expired
    },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('responses api - auth, tenancy and limits', () => {
  it("needs a token, refuses another user's or tenant's response, and caps the input", async () => {
    const alice = await client({ sub: 'alice' });
    const r = await alice.responses.create({
      model: 'builtin',
      input: 'mine',
      streamfabric: { seed: 4, length: 10, tokensPerSecond: 0 },
    } as OpenAI.Responses.ResponseCreateParamsNonStreaming & Extras);
    expect(r.output_text).toBe(builtinText(4, 10));

    const anonymous = new OpenAI({ baseURL: `${fabric.httpUrl(1)}/v1`, apiKey: 'not-a-jwt', maxRetries: 0 });
    await expect(anonymous.responses.retrieve(r.id)).rejects.toMatchObject({ status: 401 });
    await expect(anonymous.responses.create({ model: 'builtin', input: 'x' })).rejects.toMatchObject({
      status: 401,
    });

    for (const other of [
      await client({ sub: 'bob' }, 1),
      await client({ sub: 'alice', tenant: 'globex' }, 1),
    ]) {
      await expect(other.responses.retrieve(r.id)).rejects.toMatchObject({ status: 403 });
      await expect(other.responses.cancel(r.id)).rejects.toMatchObject({ status: 403 });
      await expect(other.responses.delete(r.id)).rejects.toMatchObject({ status: 403 });
      await expect(
        other.responses.create({ model: 'builtin', input: 'hijack', previous_response_id: r.id }),
      ).rejects.toMatchObject({ status: 403, param: 'previous_response_id' });
    }
    // A token limited to other agents may not use this one.
    const limited = await client({ sub: 'alice', agents: ['openai'] });
    await expect(limited.responses.create({ model: 'builtin', input: 'x' })).rejects.toMatchObject({
      status: 403,
    });
    await expect(alice.responses.create({ model: 'builtin', input: 'x'.repeat(1001) })).rejects.toMatchObject(
      {
        status: 400,
        code: 'limit_exceeded',
      },
    );
    expect((await alice.responses.retrieve(r.id)).output_text).toBe(builtinText(4, 10));
  });

  it('ends a stream with an error event when its token expires; a fresh token resumes after it', async () => {
    const short = await client({ sub: 'alice', expiresIn: 2 });
    const stream = await short.responses.create({
      model: 'builtin',
      input: 'slow',
      stream: true,
      background: true,
      streamfabric: { seed: 9, length: 300, tokensPerSecond: 10, flushIntervalMs: 0 },
    } as OpenAI.Responses.ResponseCreateParamsStreaming & Extras);
    const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
    const t0 = Date.now();
    for await (const e of stream) seen.push(e);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ type: 'error', code: 'unauthenticated' });
    const id = seen.find((e) => e.type === 'response.created')!;
    if (id.type !== 'response.created') throw new Error('no response.created');
    // The error event repeats the last position: resuming after it loses nothing.
    const fresh = await client({ sub: 'alice' }, 1);
    const more = await fresh.responses.retrieve(id.response.id, {
      stream: true,
      starting_after: last.sequence_number,
    });
    let next: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const e of more) {
      next = e;
      break;
    }
    expect(next!.sequence_number).toBeGreaterThan(last.sequence_number);
    expect(next!.type).toBe('response.output_text.delta');
    await fresh.responses.cancel(id.response.id);
  }, 60_000);
});
