import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('config - process start', () => {
  it('a gateway with a bad env value exits non-zero naming the variable', () => {
    const r = spawnSync(process.execPath, ['dist/services/gateway/main.js'], {
      env: { ...process.env, STREAM_HEARTBEAT_INTERVAL: 'often' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('STREAM_HEARTBEAT_INTERVAL');
  });
  it('a worker with a bad env value exits non-zero naming the variable', () => {
    const r = spawnSync(process.execPath, ['dist/services/worker/main.js'], {
      env: { ...process.env, NATS_STORAGE: 'floppy' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('NATS_STORAGE');
  });
});
