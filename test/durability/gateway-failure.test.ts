import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient, type StreamSession } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 2,
    workers: 2,
    // A 1 s heartbeat so the client's watchdog (2.5x) notices a frozen gateway quickly.
    gatewayEnv: { DRAIN_TIMEOUT_MS: '3000', STREAM_HEARTBEAT_INTERVAL: '1000' },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

interface Tracked {
  client: StreamFabricClient;
  session: StreamSession;
  seed: number;
  length: number;
  seqs: number[];
  gateways: string[];
}

/** Client-library clients, each following one session, all connected to `urls[0]` first. */
async function startClients(urls: string[], n: number, seedBase: number): Promise<Tracked[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const client = new StreamFabricClient({
        url: urls,
        WebSocket: WebSocket as never,
        backoff: { baseMs: 100, maxMs: 1_000 },
      });
      const gateways: string[] = [];
      client.on('welcome', (g) => gateways.push(g));
      const seed = seedBase + i;
      const length = 150;
      const session = await client.start({
        input: `gw ${i}`,
        options: { seed, length, tokensPerSecond: 40, flushIntervalMs: 0 },
      });
      const seqs: number[] = [];
      session.on('*', (e) => seqs.push(e.seq));
      return { client, session, seed, length, seqs, gateways };
    }),
  );
}

async function expectExact(tracked: Tracked[]): Promise<void> {
  for (const t of tracked) {
    expect(await t.session.text()).toBe(builtinText(t.seed, t.length));
    expect(t.seqs).toEqual(t.seqs.map((_, i) => i + 1));
    t.client.close();
  }
}

describe('gateway failure - SIGKILL under load', () => {
  it('the clients of a killed gateway reconnect to the other and resume with no gap and no duplicate', async () => {
    const urls = [fabric.wsUrl(0), fabric.wsUrl(1)];
    const victim = fabric.gateways[0]!;
    const tracked = await startClients(urls, 20, 5000);
    await waitFor(() => tracked.every((t) => t.seqs.length >= 10), {
      timeoutMs: 30_000,
      what: '10 events each',
    });
    await victim.kill('SIGKILL');
    await expectExact(tracked);
    // Every client moved: it saw a second welcome, from the surviving gateway.
    expect(tracked.every((t) => t.gateways.length >= 2 && t.gateways.at(-1) !== t.gateways[0])).toBe(true);
    fabric.gateways.splice(0, 1);
    await fabric.addGateway();
  });
});

describe('gateway failure - SIGTERM drains', () => {
  it('tells clients to move (goaway), stops accepting, closes the rest and exits 0; clients resume elsewhere', async () => {
    const urls = [fabric.wsUrl(0), fabric.wsUrl(1)];
    const victim = fabric.gateways[0]!;
    const tracked = await startClients(urls, 10, 6000);
    // A raw client that ignores goaway: the gateway must close it itself when the drain time is up.
    const raw = await RawClient.connect(urls[0]!);
    await waitFor(() => tracked.every((t) => t.seqs.length >= 10), {
      timeoutMs: 30_000,
      what: '10 events each',
    });
    await victim.kill('SIGTERM');
    await waitFor(() => raw.frames.some((f) => f.type === 'goaway'), { timeoutMs: 5_000, what: 'goaway' });
    expect(raw.frames.find((f) => f.type === 'goaway')).toMatchObject({
      type: 'goaway',
      reconnectAfterMs: 0,
    });
    // Stops accepting at once.
    await expect(RawClient.connect(urls[0]!)).rejects.toThrow();
    await expectExact(tracked);
    expect(await victim.exited).toBe(0);
    await waitFor(() => raw.closeInfo.code !== undefined, { timeoutMs: 10_000, what: 'raw client closed' });
    expect(raw.closeInfo.code).toBe(4100);
    fabric.gateways.splice(0, 1);
    await fabric.addGateway();
  });
});

describe('gateway failure - frozen gateway', () => {
  it('a gateway that stops answering (SIGSTOP) is left by the heartbeat watchdog; clients resume elsewhere', async () => {
    const urls = [fabric.wsUrl(0), fabric.wsUrl(1)];
    const victim = fabric.gateways[0]!;
    const tracked = await startClients(urls, 5, 7000);
    await waitFor(() => tracked.every((t) => t.seqs.length >= 10), {
      timeoutMs: 30_000,
      what: '10 events each',
    });
    const pid = victim.process.pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      // TCP stays up: only the missing heartbeats tell the client the link is dead. It must move
      // within a few heartbeats, not after a close handshake that cannot complete (30 s in ws).
      await waitFor(() => tracked.every((t) => t.gateways.length >= 2), {
        timeoutMs: 10_000,
        what: 'every client to reconnect elsewhere',
      });
      await expectExact(tracked);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });
});
