import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';

let fabric: TestFabric;

beforeAll(async () => {
  // A 2-second retention window: the session's events and registry entry age out quickly.
  fabric = await startFabric({ gateways: 1, workers: 1, env: { EVENTS_MAX_AGE_SECONDS: '2' } });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('conversations - expiry', () => {
  it('after the retention window, resume gets a typed expired error and a follow-up is refused', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({
      type: 'start',
      id: 's',
      input: 'short lived',
      options: { seed: 2, length: 5, tokensPerSecond: 0 },
    });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    const events = await a.finished(sid);
    const last = events.at(-1)!.seq;
    let code: string | undefined;
    await waitFor(
      async () => {
        a.send({ type: 'resume', id: `r${Date.now()}`, sid, after: last });
        const r = await a.reply((x) => x.op === 'resume' && x.ok === false, 1_000).catch(() => null);
        code = r?.error?.code;
        return code;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'resume to report expiry' },
    );
    expect(code).toBe('expired');
    a.send({ type: 'message', id: 'm', sid, text: 'hello again' });
    expect((await a.reply((r) => r.id === 'm')).ok).toBe(false);
    a.close();
  });
});
