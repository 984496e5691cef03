import { describe, expect, it } from 'vitest';
import { GatewayConfig } from './gateway-config.js';
import { ConfigError, loadConfig } from './load-config.js';
import { WorkerConfig } from './worker-config.js';

describe('config - loadConfig', () => {
  it('applies documented defaults when nothing is set', () => {
    const c = loadConfig(GatewayConfig, {});
    expect(c.WEBSOCKET_PORT).toBe(8080);
    expect(c.NATS_URL).toEqual(['nats://127.0.0.1:4222']);
    expect(c.CORS_ORIGINS).toEqual(['self', 'loopback']);
  });

  it('coerces numbers, booleans and lists', () => {
    const c = loadConfig(WorkerConfig, {
      STREAM_FLUSH_INTERVAL: '25',
      LOG_PRETTY: 'yes',
      WORKER_AGENTS: 'builtin, openai',
    });
    expect(c.STREAM_FLUSH_INTERVAL).toBe(25);
    expect(c.LOG_PRETTY).toBe(true);
    expect(c.WORKER_AGENTS).toEqual(['builtin', 'openai']);
  });

  it('fails fast with a message naming each bad variable and its value', () => {
    expect(() =>
      loadConfig(GatewayConfig, { WEBSOCKET_PORT: 'eighty', STREAM_MAX_CONNECTIONS: '-3' }),
    ).toThrowError(ConfigError);
    try {
      loadConfig(GatewayConfig, { WEBSOCKET_PORT: 'eighty', STREAM_MAX_CONNECTIONS: '-3' });
    } catch (err) {
      const e = err as ConfigError;
      expect(e.message).toContain('WEBSOCKET_PORT');
      expect(e.message).toContain('"eighty"');
      expect(e.message).toContain('STREAM_MAX_CONNECTIONS');
      expect(e.issues.map((i) => i.variable).sort()).toEqual(['STREAM_MAX_CONNECTIONS', 'WEBSOCKET_PORT']);
    }
  });
});
