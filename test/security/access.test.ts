import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { hsToken, keyPair, TEST_SECRET, type TokenClaims } from '../harness/tokens.js';
import { errorCode, tryUpgrade } from './upgrade-probe.js';

const APP_ORIGIN = 'https://app.example.com';
let fabric: TestFabric;
let es: Awaited<ReturnType<typeof keyPair>>;

beforeAll(async () => {
  es = await keyPair('ES256', 'sf-test');
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'sf-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(es.jwks));
  fabric = await startFabric({
    gateways: 2,
    workers: 1,
    gatewayEnv: {
      AUTH_MODE: 'jwt',
      AUTH_JWT_SECRET: TEST_SECRET,
      AUTH_CLOCK_TOLERANCE_SECONDS: '0',
      CORS_ORIGINS: `${APP_ORIGIN},https://*.partner.test`,
      STREAM_HEARTBEAT_INTERVAL: '500',
      MAX_SESSIONS_PER_USER: '3',
    },
  });
  // A third gateway trusting only the JWKS file (ES256), like a deployment behind an IdP.
  await fabric.addGateway({ AUTH_JWT_SECRET: '', AUTH_JWKS_FILE: jwksFile });
});
afterAll(async () => {
  await fabric?.stop();
});

const token = (c: TokenClaims) => hsToken({ tenant: 'acme', ...c });
const connect = async (i: number, c: TokenClaims) =>
  RawClient.connect(fabric.wsUrl(i), ['streamfabric.v1', `bearer.${await token(c)}`]);

describe('auth - WebSocket upgrade', () => {
  it('refuses missing, forged, expired, alg-none and tenant-less tokens with 401 and a typed error', async () => {
    const forged = await hsToken({ sub: 'alice', tenant: 'acme' }, `${TEST_SECRET}-forged`);
    const expired = await token({ sub: 'alice', expiresIn: -30 });
    const tenantless = await hsToken({ sub: 'alice', tenant: undefined });
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'alice', tenant: 'acme', exp: 9e9 })}.`;
    const cases: [string, string[] | undefined, Record<string, string>][] = [
      ['missing', undefined, {}],
      ['forged', ['streamfabric.v1', `bearer.${forged}`], {}],
      ['expired', undefined, { authorization: `Bearer ${expired}` }],
      ['tenant-less', ['streamfabric.v1', `bearer.${tenantless}`], {}],
      ['alg none', ['streamfabric.v1', `bearer.${none}`], {}],
    ];
    for (const [name, protocols, headers] of cases) {
      const r = await tryUpgrade(fabric.wsUrl(0), { ...(protocols ? { protocols } : {}), headers });
      expect(r.opened, name).toBe(false);
      if (r.opened) continue;
      expect(r.status, name).toBe(401);
      expect(errorCode(r.body), name).toBe('unauthenticated');
      expect(String(r.headers['www-authenticate']), name).toContain('Bearer');
    }
  });

  it('accepts the bearer subprotocol and echoes only streamfabric.v1; accepts the Authorization header', async () => {
    const t = await token({ sub: 'alice' });
    const viaProtocol = await tryUpgrade(fabric.wsUrl(0), { protocols: ['streamfabric.v1', `bearer.${t}`] });
    expect(viaProtocol.opened && viaProtocol.protocol).toBe('streamfabric.v1');
    if (viaProtocol.opened) viaProtocol.ws.close();
    const viaHeader = await tryUpgrade(fabric.wsUrl(1), { headers: { authorization: `Bearer ${t}` } });
    expect(viaHeader.opened).toBe(true);
    if (viaHeader.opened) viaHeader.ws.close();
  });

  it('a JWKS-file gateway accepts ES256 tokens of its key and refuses HS256 ones', async () => {
    const ok = await tryUpgrade(fabric.wsUrl(2), {
      protocols: ['streamfabric.v1', `bearer.${await es.sign({ sub: 'erin', tenant: 'acme' })}`],
    });
    expect(ok.opened).toBe(true);
    if (ok.opened) ok.ws.close();
    const hs = await tryUpgrade(fabric.wsUrl(2), {
      protocols: ['streamfabric.v1', `bearer.${await token({ sub: 'erin' })}`],
    });
    expect(!hs.opened && hs.status).toBe(401);
  });

  it('closes a connection whose token expires with 4103; the client library reconnects with a fresh token and loses nothing', async () => {
    const raw = await connect(1, { sub: 'frank', expiresIn: 1 });
    await waitFor(() => raw.closeInfo.code, { timeoutMs: 10_000, what: 'expiry close' });
    expect(raw.closeInfo).toEqual({ code: 4103, reason: 'token expired' });
    let issued = 0;
    const client = new StreamFabricClient({
      url: [fabric.wsUrl(0), fabric.wsUrl(1)],
      WebSocket: WebSocket as never,
      backoff: { baseMs: 50, maxMs: 200 },
      token: () => {
        issued++;
        return token({ sub: 'frank', expiresIn: 2 });
      },
    });
    const session = await client.start({
      input: 'x',
      options: { seed: 21, length: 120, tokensPerSecond: 30 },
    });
    expect(await session.text()).toBe(builtinText(21, 120));
    // 4 s of streaming with 2 s tokens: at least one expiry close and one fresh token.
    expect(issued).toBeGreaterThanOrEqual(2);
    client.close();
  });
});

describe('authz - sessions belong to their creator', () => {
  it('refuses resume, cancel and start-with-the-same-id of another user on every gateway', async () => {
    const alice = await connect(0, { sub: 'alice' });
    alice.send({
      type: 'start',
      id: 1,
      input: 'mine',
      options: { seed: 4, length: 60, tokensPerSecond: 60 },
    });
    const sid = (await alice.reply((r) => r.id === 1)).sid!;
    for (const [i, claims] of [
      [0, { sub: 'bob' }],
      [1, { sub: 'bob' }],
      [1, { sub: 'alice', tenant: 'globex' }], // same user name, other tenant
    ] as const) {
      const intruder = await connect(i, claims);
      intruder.send({ type: 'resume', id: 'r', sid, after: 0 });
      intruder.send({ type: 'cancel', id: 'c', sid });
      intruder.send({ type: 'start', id: 's', sid, input: 'hijack' });
      const codes = await Promise.all(
        ['r', 'c', 's'].map(async (id) => (await intruder.reply((r) => r.id === id)).error?.code),
      );
      expect(codes).toEqual(['forbidden', 'forbidden', 'already_exists']);
      expect(intruder.events(sid)).toEqual([]);
      intruder.close();
    }
    // The owner resumes on the other gateway and gets the whole, untouched answer.
    const again = await connect(1, { sub: 'alice' });
    again.send({ type: 'resume', id: 'mine', sid, after: 0 });
    expect((await again.reply((r) => r.id === 'mine')).ok).toBe(true);
    const events = await again.finished(sid);
    assertContiguous(events);
    expect(tokenText(events)).toBe(builtinText(4, 60));
    alice.close();
    again.close();
  });

  it('enforces the allowed-agents claim on start', async () => {
    const c = await connect(0, { sub: 'gina', agents: ['openai'] });
    c.send({ type: 'start', id: 1, agent: 'builtin', input: 'x' });
    const r = await c.reply((x) => x.id === 1);
    expect(r.error?.code).toBe('forbidden');
    c.close();
  });

  it("caps a user's active sessions across gateways (MAX_SESSIONS_PER_USER=3)", async () => {
    const a = await connect(0, { sub: 'hank' });
    const b = await connect(1, { sub: 'hank' });
    const slow = { seed: 1, length: 5000, tokensPerSecond: 20 };
    a.send({ type: 'start', id: 1, input: 'a', options: slow });
    a.send({ type: 'start', id: 2, input: 'b', options: slow });
    b.send({ type: 'start', id: 3, input: 'c', options: slow });
    const sids = await Promise.all([1, 2].map(async (id) => (await a.reply((r) => r.id === id)).sid!));
    expect((await b.reply((r) => r.id === 3)).ok).toBe(true);
    b.send({ type: 'start', id: 4, input: 'd', options: slow });
    expect((await b.reply((r) => r.id === 4)).error).toMatchObject({ code: 'too_many_sessions' });
    // Another user is not affected.
    const other = await connect(1, { sub: 'ivy' });
    other.send({ type: 'start', id: 1, input: 'e', options: { seed: 2, length: 5 } });
    expect((await other.reply((r) => r.id === 1)).ok).toBe(true);
    // A finished session frees its slot.
    a.send({ type: 'cancel', id: 'x', sid: sids[0]! });
    await a.finished(sids[0]!);
    let n = 0;
    await waitFor(
      async () => {
        const id = `retry${n++}`;
        b.send({ type: 'start', id, input: 'f', options: { seed: 3, length: 5 } });
        return (await b.reply((x) => x.id === id)).ok;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'a freed slot' },
    );
    for (const sid of sids.slice(1)) a.send({ type: 'cancel', sid });
    a.close();
    b.close();
    other.close();
  });
});

describe('auth - HTTP APIs and origins', () => {
  it('requires a token on API paths; health stays public', async () => {
    const base = fabric.httpUrl(0);
    const anon = await fetch(`${base}/v1/whoami`);
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe('unauthenticated');
    const t = await token({ sub: 'judy', agents: ['builtin'] });
    const me = await fetch(`${base}/v1/whoami`, { headers: { authorization: `Bearer ${t}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ tenant: 'acme', user: 'judy', agents: ['builtin'] });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('refuses a wrong Origin with 403 on the upgrade and on HTTP; allowed origins get CORS headers', async () => {
    const t = await token({ sub: 'kim' });
    const evil = await tryUpgrade(fabric.wsUrl(0), {
      protocols: ['streamfabric.v1', `bearer.${t}`],
      headers: { origin: 'https://evil.test' },
    });
    expect(!evil.opened && evil.status).toBe(403);
    expect(!evil.opened && errorCode(evil.body)).toBe('forbidden');
    for (const origin of [APP_ORIGIN, 'https://eu.partner.test']) {
      const ok = await tryUpgrade(fabric.wsUrl(0), {
        protocols: ['streamfabric.v1', `bearer.${t}`],
        headers: { origin },
      });
      expect(ok.opened, origin).toBe(true);
      if (ok.opened) ok.ws.close();
    }
    const base = fabric.httpUrl(1);
    expect((await fetch(`${base}/healthz`, { headers: { origin: 'https://evil.test' } })).status).toBe(403);
    const allowed = await fetch(`${base}/v1/whoami`, {
      headers: { origin: APP_ORIGIN, authorization: `Bearer ${t}` },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('vary')).toContain('Origin');
  });

  it('answers a CORS preflight with 204 and the allowed methods and headers', async () => {
    const r = await fetch(`${fabric.httpUrl(0)}/v1/whoami`, {
      method: 'OPTIONS',
      headers: {
        origin: APP_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(r.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(r.headers.get('access-control-allow-methods')).toContain('GET');
    const bad = await fetch(`${fabric.httpUrl(0)}/v1/whoami`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' },
    });
    expect(bad.status).toBe(403);
  });
});

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}
