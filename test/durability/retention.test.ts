import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient, StreamFabricError } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

// A one-second retention window, so that events expire during the test; once unpartitioned and
// once with three partitions (each partition's stream carries the window: docs/partitions.md).
let fabric: TestFabric;

/**
 * Resumes on a fresh connection; returns the refusal, or null once events flow. A refusal comes
 * either as the answer to the request or, when the log runs out under the catch-up, as a later
 * `resume` reply for the sid.
 */
async function resumeRefusal(sid: string, after: number) {
  const c = await RawClient.connect(fabric.wsUrl(0));
  try {
    c.send({ type: 'resume', id: 'e', sid, after });
    return await waitFor(
      () => c.replies().find((r) => r.sid === sid && !r.ok) ?? (c.events(sid).length > 0 ? 'flowing' : null),
      { timeoutMs: 10_000, what: 'a refusal or events' },
    ).then((r) => (r === 'flowing' ? null : r));
  } finally {
    c.close();
  }
}

describe.each([1, 3])('retention - resume after the window (NATS_PARTITIONS=%i)', (partitions) => {
  beforeAll(async () => {
    fabric = await startFabric({
      gateways: 1,
      workers: 1,
      env: { EVENTS_MAX_AGE_SECONDS: '1', NATS_PARTITIONS: String(partitions) },
    });
  });
  afterAll(async () => {
    await fabric?.stop();
  });

  it('a finished session whose events expired answers a typed expired error, never silence', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    const sid = await startSession(a, 'e1', { seed: 1, length: 20, tokensPerSecond: 0, flushIntervalMs: 0 });
    const events = await a.finished(sid);
    a.close();
    const k = events[5]!.seq;
    const reply = await waitFor(() => resumeRefusal(sid, k), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the events to expire',
    });
    expect(reply.op).toBe('resume');
    expect(reply.error).toMatchObject({ code: 'expired', retryable: false });

    // The client library surfaces it as a typed error on the session.
    const client = new StreamFabricClient({ url: fabric.wsUrl(0), WebSocket: WebSocket as never });
    const session = await client.resume(sid, k);
    const err = await session.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamFabricError);
    expect((err as StreamFabricError).code).toBe('expired');
    client.close();
  });

  it('a running session whose first events expired answers expired to a resume from before the window', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    const sid = await startSession(a, 'e2', {
      seed: 2,
      length: 200,
      tokensPerSecond: 20,
      flushIntervalMs: 0,
    });
    // At 20 events/s with a 1 s window, the first events are gone after ~2 s while the stream runs.
    const reply = await waitFor(() => resumeRefusal(sid, 0), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'the head of the log to expire',
    });
    expect(reply.error?.code).toBe('expired');
    // A client close to the head still resumes fine.
    const head = a.events(sid).at(-1)!.seq;
    const b = await RawClient.connect(fabric.wsUrl(0));
    b.send({ type: 'resume', id: 'h', sid, after: head });
    expect((await b.reply((r) => r.id === 'h')).ok).toBe(true);
    await waitFor(() => b.events(sid).length >= 3, { timeoutMs: 10_000, what: 'live events after resume' });
    expect(b.events(sid)[0]!.seq).toBe(head + 1);
    a.close();
    b.close();
  });
});
