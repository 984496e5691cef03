import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { hsToken, TEST_SECRET } from '../harness/tokens.js';

// General streams under real authentication on two gateways: tokens are required, each tenant
// has its own namespace, a write acknowledged by one gateway is readable at once on the other,
// and the body limit holds.
describe('durable streams - auth, tenancy, limits and any-gateway reads', () => {
  let fabric: TestFabric;
  let acme: Record<string, string>;
  let globex: Record<string, string>;
  beforeAll(async () => {
    fabric = await startFabric({
      gateways: 2,
      workers: 0,
      gatewayEnv: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: TEST_SECRET, DURABLE_STREAMS_MAX_BODY_BYTES: '4096' },
    });
    acme = { authorization: `Bearer ${await hsToken({ sub: 'a', tenant: 'acme' })}` };
    globex = { authorization: `Bearer ${await hsToken({ sub: 'g', tenant: 'globex' })}` };
  });
  afterAll(async () => {
    await fabric?.stop();
  });
  const url = (g: number, name: string) => `${fabric.httpUrl(g)}/v1/stream/${name}`;
  const put = (g: number, name: string, headers: Record<string, string>, body?: string) =>
    fetch(url(g, name), { method: 'PUT', headers: { 'content-type': 'text/plain', ...headers }, body });

  test('no token: 401, nothing created', async () => {
    expect((await put(0, 'anon', {}, 'x')).status).toBe(401);
    expect((await fetch(url(0, 'anon'), { headers: acme })).status).toBe(404);
  });

  test('tenants do not see each other: the same name is two streams', async () => {
    expect((await put(0, 'shared', acme, 'from acme')).status).toBe(201);
    expect((await fetch(url(1, 'shared'), { headers: globex })).status).toBe(404);
    expect((await put(1, 'shared', globex, 'from globex')).status).toBe(201);
    expect(await (await fetch(url(1, 'shared'), { headers: acme })).text()).toBe('from acme');
    expect(await (await fetch(url(0, 'shared'), { headers: globex })).text()).toBe('from globex');
  });

  test('read-your-writes across gateways: an append acknowledged by one is read at once on the other', async () => {
    expect((await put(0, 'ryw', acme)).status).toBe(201);
    let expected = '';
    for (let i = 0; i < 20; i++) {
      const chunk = `<${i}>`;
      const w = await fetch(url(i % 2, 'ryw'), {
        method: 'POST',
        headers: { ...acme, 'content-type': 'text/plain' },
        body: chunk,
      });
      expect(w.status).toBe(204);
      expected += chunk;
      const r = await fetch(url((i + 1) % 2, 'ryw'), { headers: acme });
      expect(await r.text()).toBe(expected);
      expect(r.headers.get('stream-next-offset')).toBe(w.headers.get('stream-next-offset'));
    }
  });

  test('a body over DURABLE_STREAMS_MAX_BODY_BYTES is refused with 413, the stream unharmed', async () => {
    expect((await put(0, 'big', acme, 'ok')).status).toBe(201);
    const big = await fetch(url(0, 'big'), {
      method: 'POST',
      headers: { ...acme, 'content-type': 'text/plain' },
      body: 'x'.repeat(5000),
    });
    expect(big.status).toBe(413);
    expect(await (await fetch(url(1, 'big'), { headers: acme })).text()).toBe('ok');
  });

  test('concurrent writers on both gateways: every append once, and both gateways agree byte for byte', async () => {
    expect((await put(0, 'concurrent', acme)).status).toBe(201);
    const append = (g: number, body: string) =>
      fetch(url(g, 'concurrent'), {
        method: 'POST',
        headers: { ...acme, 'content-type': 'text/plain' },
        body,
      });
    const writes = Array.from({ length: 40 }, (_, i) => append(i % 2, `[${i}]`));
    expect((await Promise.all(writes)).map((r) => r.status)).toEqual(Array(40).fill(204));
    const [a, b] = await Promise.all([0, 1].map((g) => fetch(url(g, 'concurrent'), { headers: acme })));
    const text = await a!.text();
    expect(await b!.text()).toBe(text);
    expect(a!.headers.get('stream-next-offset')).toBe(b!.headers.get('stream-next-offset'));
    expect(text.match(/\[\d+\]/g)!.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `[${i}]`).sort());
  });

  test('an idempotent producer retrying on the other gateway is deduplicated; a zombie epoch is fenced', async () => {
    expect((await put(0, 'producer', acme)).status).toBe(201);
    const send = (g: number, epoch: number, seq: number, body: string) =>
      fetch(url(g, 'producer'), {
        method: 'POST',
        headers: {
          ...acme,
          'content-type': 'text/plain',
          'producer-id': 'p1',
          'producer-epoch': String(epoch),
          'producer-seq': String(seq),
        },
        body,
      });
    expect((await send(0, 0, 0, 'a')).status).toBe(200);
    expect((await send(1, 0, 0, 'a')).status).toBe(204); // the retry, elsewhere: stored once
    expect((await send(1, 1, 0, 'b')).status).toBe(200); // a new epoch takes over
    const zombie = await send(0, 0, 1, 'z');
    expect(zombie.status).toBe(403);
    expect(zombie.headers.get('producer-epoch')).toBe('1');
    expect(await (await fetch(url(0, 'producer'), { headers: acme })).text()).toBe('ab');
  });

  test('a gateway started later rebuilds every stream from the log, with the same offsets', async () => {
    expect((await put(0, 'history', acme, 'before')).status).toBe(201);
    const head = await fetch(url(0, 'history'), { method: 'HEAD', headers: acme });
    const late = await fabric.addGateway();
    const r = await fetch(`http://127.0.0.1:${late.port}/v1/stream/history`, { headers: acme });
    expect(await r.text()).toBe('before');
    expect(r.headers.get('stream-next-offset')).toBe(head.headers.get('stream-next-offset'));
  });
});
