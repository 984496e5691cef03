import { describe, expect, it } from 'vitest';
import type { HttpRequestInfo } from '../transport/connection.js';
import { AccessPolicy, principalOf } from './access-policy.js';
import { DevAuthenticator } from './dev-authenticator.js';
import { JoseAuthenticator } from './jose-authenticator.js';
import { OriginPolicy } from './origin-policy.js';

const TEST_SECRET = 'unit-test-secret-unit-test-secret-0123';

function req(path: string, headers: Record<string, string> = {}, method = 'get'): HttpRequestInfo {
  return { method, path, query: new URLSearchParams(), headers, body: Buffer.alloc(0) };
}

describe('auth - access policy', () => {
  const jwt = new AccessPolicy(
    new JoseAuthenticator({ secret: TEST_SECRET }),
    new OriginPolicy(['https://app.example.com']),
    { loopbackHostOnly: false },
  );

  it('requires a token on API paths only, and adds CORS headers for allowed origins', async () => {
    const api = await jwt.http(req('/v1/whoami', { origin: 'https://app.example.com' }));
    expect('respond' in api && api.respond.status).toBe(401);
    expect('respond' in api && api.respond.headers?.['access-control-allow-origin']).toBe(
      'https://app.example.com',
    );
    const health = await jwt.http(req('/healthz'));
    expect('respond' in health).toBe(false);
    const seedAlias = await jwt.http(req('/api/v1/stream/health'));
    expect('respond' in seedAlias).toBe(false);
  });

  it('refuses a wrong origin with 403 before looking at the token, and answers preflights', async () => {
    const evil = await jwt.upgrade(req('/v1/ws', { origin: 'https://evil.test' }));
    expect(!evil.ok && evil.status).toBe(403);
    const pre = await jwt.http(
      req(
        '/v1/whoami',
        { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
        'options',
      ),
    );
    expect('respond' in pre && pre.respond.status).toBe(204);
  });

  it('dev mode: anonymous principal, but only for requests addressed to a loopback host', async () => {
    const dev = new AccessPolicy(new DevAuthenticator(), new OriginPolicy(['self', 'loopback']), {
      loopbackHostOnly: true,
    });
    const ok = await dev.http(req('/v1/whoami', { host: '127.0.0.1:8080' }));
    expect('ctx' in ok && principalOf({ ...req('/'), ctx: ok.ctx })).toEqual({
      tenant: 'public',
      user: 'anonymous',
    });
    const rebound = await dev.upgrade(req('/v1/ws', { host: 'rebind.evil.test:8080' }));
    expect(!rebound.ok && rebound.status).toBe(403);
  });
});
