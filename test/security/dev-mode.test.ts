import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Starts a gateway process that must refuse its config before touching the network. */
function startGateway(env: Record<string, string>) {
  return spawnSync(process.execPath, ['dist/services/gateway/main.js'], {
    env: { ...process.env, NATS_URL: 'nats://127.0.0.1:1', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('auth - dev mode is loopback only', () => {
  it('a dev-mode gateway refuses to start on a non-loopback address, naming WEBSOCKET_HOST', () => {
    const r = startGateway({ AUTH_MODE: 'dev', WEBSOCKET_HOST: '0.0.0.0' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('WEBSOCKET_HOST');
    expect(r.stderr).toContain('AUTH_MODE=jwt');
  });

  it('a jwt-mode gateway without a key refuses to start, and a short secret is never echoed', () => {
    const noKey = startGateway({ AUTH_MODE: 'jwt', WEBSOCKET_HOST: '0.0.0.0' });
    expect(noKey.status).not.toBe(0);
    expect(noKey.stderr).toContain('AUTH_JWT_SECRET, AUTH_JWKS_FILE or AUTH_JWKS_URL');
    const weak = startGateway({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'sw0rdfish' });
    expect(weak.status).not.toBe(0);
    expect(weak.stderr).toContain('AUTH_JWT_SECRET');
    expect(weak.stderr).not.toContain('sw0rdfish');
  });
});
