import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';

// JetStream runs out of storage (nats-server's max_file_store, as a full disk would): writes are
// refused with typed errors, nothing crashes, what was acknowledged stays readable, and the
// fabric carries on once space is freed, with no event lost or duplicated.
let fabric: TestFabric;
const FILL = { tokensPerSecond: 0, bufferSize: 1, flushIntervalMs: 0 };

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1, jetstreamExtra: 'max_file_store: 1MB' });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('full disk - JetStream out of storage', () => {
  it('refuses writes with storage_full, keeps acknowledged events readable and resumes when space is freed', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 1, input: 'fill a', options: { ...FILL, seed: 1, length: 1500 } });
    const a = (await c.reply((r) => r.id === 1)).sid!;
    const aEvents = await c.finished(a, 60_000);

    // B runs into the limit mid-turn: its worker waits for space (a typed refusal in its log).
    c.send({ type: 'start', id: 2, input: 'fill b', options: { ...FILL, seed: 2, length: 1400 } });
    const b = (await c.reply((r) => r.id === 2)).sid!;
    await waitFor(() => fabric.workers[0]!.logs.find((l) => l.sid === b && l.code === 'storage_full'), {
      what: 'the worker to meet the full store',
      timeoutMs: 60_000,
    });
    const bBefore = c.events(b).length;
    expect(bBefore).toBeGreaterThan(0);

    // New writes are refused with a typed, retryable error; nothing crashed.
    c.send({ type: 'start', id: 3, input: 'refused', options: { length: 5 } });
    expect(await c.reply((r) => r.id === 3)).toMatchObject({
      ok: false,
      error: { code: 'storage_full', retryable: true },
    });
    expect((await fetch(`${fabric.httpUrl(0)}/healthz`)).status).toBe(200);
    for (const p of [...fabric.gateways, ...fabric.workers]) expect(p.process.exitCode).toBeNull();

    // Everything acknowledged is still readable, from any connection.
    const reader = await RawClient.connect(fabric.wsUrl(0));
    reader.send({ type: 'resume', id: 1, sid: a, after: 0 });
    const replay = await reader.finished(a, 30_000);
    expect(replay.map((e) => [e.seq, e.type])).toEqual(aEvents.map((e) => [e.seq, e.type]));
    expect(tokenText(replay)).toBe(builtinText(1, 1500));

    // An operator frees space (purges session A's events): B finishes exactly, new sessions run.
    const nc = await connect({ servers: fabric.nats.urls.split(',') });
    await (await JetStreamEventLog.create(nc)).purge('public', a);
    await nc.close();
    const bEvents = await c.finished(b, 90_000);
    assertContiguous(bEvents);
    expect(tokenText(bEvents)).toBe(builtinText(2, 1400));
    c.send({ type: 'start', id: 4, input: 'after', options: { seed: 4, length: 20, tokensPerSecond: 0 } });
    const d = (await c.reply((r) => r.id === 4)).sid!;
    expect(tokenText(await c.finished(d))).toBe(builtinText(4, 20));
    c.close();
    reader.close();
  }, 150_000);
});
