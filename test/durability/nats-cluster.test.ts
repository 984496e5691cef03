import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { EVENTS_STREAM } from '../../shared/nats/subjects.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

// Three nodes, every stream R3 (the harness sets NATS_REPLICAS=3 for 3 nodes).
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 2, natsNodes: 3 });
});
afterAll(async () => {
  await fabric?.stop();
});

/** The EVENTS stream's leader; retried, since a JetStream API request can time out on a loaded box. */
async function eventsStreamLeader(): Promise<string> {
  return waitFor(
    async () => {
      const nc = await connect({ servers: fabric.nats.urls.split(',') });
      try {
        const info = await (await jetstreamManager(nc, { timeout: 10_000 })).streams.info(EVENTS_STREAM);
        return info.cluster?.leader ?? '';
      } finally {
        await nc.close();
      }
    },
    { timeoutMs: 45_000, intervalMs: 500, what: 'the EVENTS stream leader' },
  );
}

describe('broker failure - one node of three', () => {
  it('killing the EVENTS stream leader mid-stream loses nothing: streams continue, exactly once, exact text', async () => {
    const clients = [await RawClient.connect(fabric.wsUrl(0)), await RawClient.connect(fabric.wsUrl(1))];
    const specs = Array.from({ length: 10 }, (_, i) => ({
      seed: 900 + i,
      length: 160,
      client: clients[i % 2]!,
    }));
    const sids = await Promise.all(
      specs.map((s, i) =>
        startSession(s.client, `c${i}`, {
          seed: s.seed,
          length: s.length,
          tokensPerSecond: 40,
          flushIntervalMs: 0,
        }),
      ),
    );
    await waitFor(() => sids.every((sid, i) => specs[i]!.client.events(sid).length >= 10), {
      timeoutMs: 20_000,
      what: 'streams running',
    });
    const leader = await eventsStreamLeader();
    const node = fabric.nats.nodes.find((n) => n.name === leader)!;
    expect(node).toBeDefined();
    await node.kill();
    try {
      for (const [i, sid] of sids.entries()) {
        const s = specs[i]!;
        const events = await s.client.finished(sid, 60_000);
        assertContiguous(events);
        expect(events.at(-1)!.type).toBe('done');
        expect(tokenText(events)).toBe(builtinText(s.seed, s.length));
      }
      // A new leader serves new sessions too.
      const sid = await startSession(clients[0]!, 'after', { seed: 999, length: 30, tokensPerSecond: 0 });
      expect(tokenText(await clients[0]!.finished(sid, 30_000))).toBe(builtinText(999, 30));
      expect(await eventsStreamLeader()).not.toBe(leader);
    } finally {
      await node.restart();
    }
    for (const c of clients) c.close();
  });
});
