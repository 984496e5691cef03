import { describe, expect, it } from 'vitest';
import { publicError, publicMessage } from './public-message.js';

const INTERNALS = [
  'nats://10.12.0.7:4222',
  '10.12.0.7',
  '127.0.0.1:34567',
  '/srv/streamfabric/services/worker/agents/secret.ts',
  '/home/app/.venv/lib/python3.12/site-packages/autogen/agent.py',
  'C:\\app\\agent.js',
  'nats-0.nats.svc:4222',
  '[::1]:8081',
];

describe('public-message - what a client may see of an error', () => {
  it('drops every address and path and keeps the words', () => {
    for (const x of INTERNALS) {
      const out = publicMessage(`cannot reach ${x} while loading the agent`);
      expect(out, x).not.toContain(x);
      expect(out).toMatch(/^cannot reach <(address|path)> while loading the agent$/);
    }
  });

  it('keeps only the first line: no Node stack or Python traceback', () => {
    const err = new Error('boom at nats://10.0.0.1:4222');
    expect(publicMessage(err.stack ?? '')).toBe('Error: boom at <address>');
    const py = 'Traceback (most recent call last):\n  File "/srv/a.py", line 3, in f\nValueError: x';
    expect(publicMessage(py)).not.toContain('/srv/');
  });

  it('leaves ordinary messages alone and bounds long ones', () => {
    expect(publicMessage('429 Rate limit reached for gpt-4o: retry in 20s')).toBe(
      '429 Rate limit reached for gpt-4o: retry in 20s',
    );
    expect(publicMessage('x'.repeat(1000)).length).toBeLessThanOrEqual(203);
    expect(publicMessage('  \n ')).toBe('internal error');
    expect(publicError({ code: 'agent_error', message: '/a/b', retryable: false }).message).toBe('<path>');
  });
});
