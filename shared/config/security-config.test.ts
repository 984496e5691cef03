import { describe, expect, it } from 'vitest';
import { GatewayConfig } from './gateway-config.js';
import { ConfigError, loadConfig } from './load-config.js';
import { isLoopbackHost } from './security-config.js';

function issues(env: Record<string, string>): ConfigError['issues'] {
  try {
    loadConfig(GatewayConfig, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('config - security cross-checks', () => {
  it('defaults to dev mode on loopback, which starts', () => {
    const c = loadConfig(GatewayConfig, {});
    expect(c.AUTH_MODE).toBe('dev');
    expect(c.WEBSOCKET_HOST).toBe('127.0.0.1');
  });

  it('refuses dev mode on a non-loopback address, naming WEBSOCKET_HOST', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'gateway.example.com']) {
      const found = issues({ WEBSOCKET_HOST: host });
      expect(found.map((i) => i.variable)).toEqual(['WEBSOCKET_HOST']);
      expect(found[0]!.message).toContain('AUTH_MODE=jwt');
    }
  });

  it('refuses jwt mode without a key, and a short secret without echoing it', () => {
    expect(issues({ AUTH_MODE: 'jwt', WEBSOCKET_HOST: '0.0.0.0' }).map((i) => i.variable)).toEqual([
      'AUTH_MODE',
    ]);
    const short = issues({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'hunter2' });
    expect(short.map((i) => i.variable)).toEqual(['AUTH_JWT_SECRET']);
    expect(JSON.stringify(short)).not.toContain('hunter2');
    expect(issues({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: 'x'.repeat(32), WEBSOCKET_HOST: '0.0.0.0' })).toEqual(
      [],
    );
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '192.168.1.1', 'example.com'].some(isLoopbackHost)).toBe(false);
  });
});
