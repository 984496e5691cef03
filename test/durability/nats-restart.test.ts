import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

// One nats-server with file storage (the default): its restart is a full broker outage.
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1, env: { NATS_STORAGE: 'file' } });
});
afterAll(async () => {
  await fabric?.stop();
});

async function readyStatus(): Promise<number> {
  const r = await fetch(`${fabric.httpUrl(0)}/readyz`);
  return r.status;
}

async function metrics(): Promise<string> {
  return (await fetch(`${fabric.httpUrl(0)}/metrics`)).text();
}

describe('broker failure - single-node restart', () => {
  it('gateways and workers reconnect by themselves, /readyz reports the outage and recovers, in-flight sessions complete', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const specs = Array.from({ length: 5 }, (_, i) => ({ seed: 700 + i, length: 150 }));
    const sids = await Promise.all(
      specs.map((s, i) =>
        startSession(c, `n${i}`, { seed: s.seed, length: s.length, tokensPerSecond: 30, flushIntervalMs: 0 }),
      ),
    );
    await waitFor(() => sids.every((sid) => c.events(sid).length >= 10), {
      timeoutMs: 20_000,
      what: 'streams',
    });
    expect(await readyStatus()).toBe(200);

    const node = fabric.nats.nodes[0]!;
    await node.kill();
    await waitFor(async () => (await readyStatus()) === 503, { timeoutMs: 15_000, what: '/readyz 503' });
    const body = await (await fetch(`${fabric.httpUrl(0)}/readyz`)).json();
    expect(body).toMatchObject({ status: 'not_ready', nats: 'disconnected' });
    // A start during the outage is refused as retryable (unavailable); the client library retries it.
    const client = new StreamFabricClient({
      url: fabric.wsUrl(0),
      WebSocket: WebSocket as never,
      backoff: { baseMs: 200, maxMs: 1_000 },
    });
    const during = await client.start({
      input: 'during',
      options: { seed: 798, length: 40, tokensPerSecond: 0 },
    });
    // Keep the broker down through more refusals than a fixed retry count would allow: the client
    // retries for a time window (retryTimeoutMs, 60 s by default), as long as a failover may take.
    const refusals = async () =>
      Number(/errors_total\{[^}]*code="unavailable"[^}]*\} (\d+)/.exec(await metrics())?.[1] ?? 0);
    await waitFor(async () => (await refusals()) >= 8, { timeoutMs: 30_000, what: '8 retryable refusals' });
    await node.restart();
    await waitFor(async () => (await readyStatus()) === 200, {
      timeoutMs: 30_000,
      what: '/readyz 200 again',
    });

    for (const [i, sid] of sids.entries()) {
      const events = await c.finished(sid, 60_000);
      assertContiguous(events);
      expect(events.at(-1)!.type).toBe('done');
      expect(tokenText(events)).toBe(builtinText(specs[i]!.seed, specs[i]!.length));
    }
    expect(await during.text()).toBe(builtinText(798, 40));
    client.close();
    // New work flows after the outage (the worker's job consumer recovered).
    const sid = await startSession(c, 'after', { seed: 799, length: 30, tokensPerSecond: 0 });
    expect(tokenText(await c.finished(sid, 30_000))).toBe(builtinText(799, 30));
    c.close();
  });
});
