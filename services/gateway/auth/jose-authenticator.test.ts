import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { hsToken, keyPair, TEST_SECRET } from '../../../test/harness/tokens.js';
import { JoseAuthenticator } from './jose-authenticator.js';

const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

/** A real local HTTP server serving a JWKS (no internet). */
async function serveJwks(body: unknown): Promise<string> {
  const s = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/jwks.json`;
}

describe('auth - JoseAuthenticator HS256', () => {
  const auth = new JoseAuthenticator({ secret: TEST_SECRET, issuer: 'https://idp.test', audience: 'sf' });
  const ok = { sub: 'alice', iss: 'https://idp.test', aud: 'sf' };

  it('maps sub, tenant, agents and exp to a principal', async () => {
    const r = await auth.authenticate(await hsToken({ ...ok, tenant: 'acme', agents: ['builtin'] }));
    expect(r.ok && r.principal).toMatchObject({ tenant: 'acme', user: 'alice', agents: ['builtin'] });
    expect(r.ok && r.principal.expiresAt).toBeGreaterThan(Date.now());
    const scoped = await auth.authenticate(await hsToken({ ...ok, agents: 'builtin openai' }));
    expect(scoped.ok && scoped.principal.agents).toEqual(['builtin', 'openai']);
  });

  it.each([
    ['missing', async () => undefined, 'missing bearer token'],
    ['forged (other secret)', () => hsToken(ok, `${TEST_SECRET}-other`), 'signature'],
    ['expired', () => hsToken({ ...ok, expiresIn: -60 }), 'expired'],
    ['without exp', () => hsToken({ ...ok, noExp: true }), '"exp"'],
    ['without sub', () => hsToken({ iss: ok.iss, aud: ok.aud }), '"sub"'],
    ['wrong issuer', () => hsToken({ ...ok, iss: 'https://evil.test' }), '"iss"'],
    ['wrong audience', () => hsToken({ ...ok, aud: 'other' }), '"aud"'],
    ['bad tenant id', () => hsToken({ ...ok, tenant: 'a.b>' }), 'tenant'],
    ['garbage', async () => 'not.a.jwt', 'malformed'],
    ['alg none', async () => unsigned(ok), ''],
  ])('refuses a %s token with unauthenticated', async (_name, make, reason) => {
    const r = await auth.authenticate(await make());
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('unauthenticated');
      expect(r.error.retryable).toBe(false);
      expect(r.error.message).toContain(reason);
    }
  });

  it('uses AUTH_DEFAULT_TENANT only when the claim is absent', async () => {
    const single = new JoseAuthenticator({ secret: TEST_SECRET, defaultTenant: 'solo', tenantClaim: 'org' });
    const r = await single.authenticate(await hsToken({ sub: 'bob', tenant: undefined }));
    expect(r.ok && r.principal.tenant).toBe('solo');
    const r2 = await single.authenticate(await hsToken({ sub: 'bob', org: 'acme' }));
    expect(r2.ok && r2.principal.tenant).toBe('acme');
  });
});

describe('auth - JoseAuthenticator with a JWKS', () => {
  it('verifies RS256 and ES256 tokens from a JWKS file, and refuses HS256 without a secret', async () => {
    const rsa = await keyPair('RS256', 'k-rsa');
    const ec = await keyPair('ES256', 'k-ec');
    const auth = new JoseAuthenticator({ jwks: { keys: [...rsa.jwks.keys, ...ec.jwks.keys] } });
    for (const k of [rsa, ec]) {
      const r = await auth.authenticate(await k.sign({ sub: 'carol', tenant: 'globex' }));
      expect(r.ok && r.principal).toMatchObject({ tenant: 'globex', user: 'carol' });
    }
    const hs = await auth.authenticate(await hsToken({ sub: 'carol' }));
    expect(hs.ok).toBe(false);
    const other = await keyPair('ES256', 'k-ec'); // same kid, different key: forged
    expect((await auth.authenticate(await other.sign({ sub: 'carol' }))).ok).toBe(false);
  });

  it('fetches keys from a JWKS URL; an unreachable URL is unavailable (retryable), not unauthenticated', async () => {
    const ec = await keyPair('ES256', 'k1');
    const auth = new JoseAuthenticator({ jwksUrl: await serveJwks(ec.jwks) });
    const r = await auth.authenticate(await ec.sign({ sub: 'dave' }));
    expect(r.ok && r.principal.user).toBe('dave');
    const down = new JoseAuthenticator({ jwksUrl: 'http://127.0.0.1:9/jwks.json' });
    const r2 = await down.authenticate(await ec.sign({ sub: 'dave' }));
    expect(!r2.ok && r2.error).toMatchObject({ code: 'unavailable', retryable: true });
  });
});

/** An unsecured JWT (`alg: none`): must never be accepted. */
function unsigned(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 600;
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...claims, tenant: 'acme', exp })}.`;
}
