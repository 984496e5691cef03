import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  type ConnectionState,
  type NetworkSignal,
  type StorageLike,
  StreamFabricClient,
  StreamFabricError,
} from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

let fabric: TestFabric;

beforeAll(async () => {
  // A short heartbeat so that silence is detected in about a second.
  fabric = await startFabric({ gateways: 2, workers: 2, gatewayEnv: { STREAM_HEARTBEAT_INTERVAL: '400' } });
});
afterAll(async () => {
  await fabric?.stop();
});

function newClient(o: Partial<ClientOptions> = {}): StreamFabricClient {
  return new StreamFabricClient({
    url: [fabric.wsUrl(0), fabric.wsUrl(1)],
    WebSocket: WebSocket as never,
    backoff: { baseMs: 50, maxMs: 300 },
    networkSignals: false,
    ...o,
  });
}

/** Records every state change with its reason. */
function recordStates(client: StreamFabricClient): { state: ConnectionState; reason: string }[] {
  const seen: { state: ConnectionState; reason: string }[] = [];
  client.on('state', (state, _prev, reason) => seen.push({ state, reason }));
  return seen;
}

const slow = (seed: number, length = 200) => ({ seed, length, tokensPerSecond: 120, flushIntervalMs: 0 });

class MemoryStorage implements StorageLike {
  readonly map = new Map<string, string>();
  getItem = (k: string) => this.map.get(k) ?? null;
  setItem = (k: string, v: string) => void this.map.set(k, v);
  removeItem = (k: string) => void this.map.delete(k);
}

describe('client sdk - connection state machine', () => {
  it('goes connecting -> open, reconnecting -> open on a drop, closed on close(), and resumes without a gap', async () => {
    const client = newClient();
    const states = recordStates(client);
    const session = await client.start({ input: 'x', options: slow(1, 150) });
    await waitFor(() => session.lastSeq >= 5, { what: 'first events' });
    client.dropConnection();
    expect(await session.text()).toBe(builtinText(1, 150));
    expect(session.events.map((e) => e.seq)).toEqual(session.events.map((_, i) => i + 1));
    client.close();
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'reconnecting', 'open', 'closed']);
    expect(states[2]!.reason).toBe('dropped by client');
  });

  it('detects heartbeat silence (gateway frozen with SIGSTOP) and resumes on the other gateway', async () => {
    const frozen = fabric.gateways[0]!.process;
    const client = newClient();
    const states = recordStates(client);
    const session = await client.start({ input: 'x', options: slow(2, 300) });
    const firstGateway = client.gateway;
    await waitFor(() => session.lastSeq >= 5, { what: 'first events' });
    frozen.kill('SIGSTOP');
    try {
      expect(await session.text()).toBe(builtinText(2, 300));
    } finally {
      frozen.kill('SIGCONT');
    }
    expect(states.some((s) => s.reason === 'heartbeat timeout')).toBe(true);
    expect(client.gateway).not.toBe(firstGateway);
    client.close();
  });

  it('follows goaway from a draining gateway to another one and resumes', async () => {
    const leaving = await fabric.addGateway();
    const client = newClient({ url: [`ws://127.0.0.1:${leaving.port}/v1/ws`, fabric.wsUrl(1)] });
    const states = recordStates(client);
    const session = await client.start({ input: 'x', options: slow(3, 200) });
    await waitFor(() => session.lastSeq >= 5, { what: 'first events' });
    await leaving.kill('SIGTERM');
    expect(await session.text()).toBe(builtinText(3, 200));
    expect(states.some((s) => s.reason.startsWith('goaway'))).toBe(true);
    client.close();
  });

  it('reconnects at once when the network comes back instead of waiting out the backoff', async () => {
    let emit: (s: NetworkSignal) => void = () => undefined;
    // A backoff of up to 10 minutes: only the `online` signal can bring the client back quickly.
    const client = newClient({
      backoff: { baseMs: 600_000, maxMs: 600_000 },
      networkSignals: {
        subscribe: (l) => {
          emit = l;
          return () => undefined;
        },
      },
    });
    await client.connect();
    emit('offline');
    expect(client.state).toBe('reconnecting');
    emit('online');
    await waitFor(() => client.state === 'open', { timeoutMs: 5_000, what: 'reconnect on online' });
    client.close();
  });
});

describe('client sdk - sessions', () => {
  it('runs concurrent sessions on one connection: for await, callbacks and text() all see every event', async () => {
    const client = newClient();
    const sessions = await Promise.all(
      [10, 11, 12, 13, 14].map((seed) =>
        client.start({ input: 'c', options: { seed, length: 60, tokensPerSecond: 300 } }),
      ),
    );
    const viaCallback = sessions.map((s) => {
      const texts: string[] = [];
      s.on('token', (ev) => texts.push(ev.text));
      return texts;
    });
    const viaIterator = await Promise.all(
      sessions.map(async (s) => {
        let text = '';
        for await (const ev of s) if (ev.type === 'token') text += ev.text;
        return text;
      }),
    );
    for (const [i, s] of sessions.entries()) {
      expect(await s.text()).toBe(builtinText(10 + i, 60));
      expect(viaIterator[i]).toBe(builtinText(10 + i, 60));
      expect(viaCallback[i]!.join('')).toBe(builtinText(10 + i, 60));
    }
    client.close();
  });

  it('reports a refused resume as a typed StreamFabricError, in text() and in for await', async () => {
    const client = newClient();
    const errors: StreamFabricError[] = [];
    client.on('error', (e) => errors.push(e));
    const session = await client.resume('s_neverexisted', 0);
    const err = await session.text().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamFabricError);
    expect((err as StreamFabricError).code).toBe('not_found');
    expect((err as StreamFabricError).retryable).toBe(false);
    await expect(
      (async () => {
        for await (const _ of session) void _;
      })(),
    ).rejects.toThrow(StreamFabricError);
    expect(errors.map((e) => e.code)).toEqual(['not_found']);
    client.close();
  });

  it('cancel() ends the stream with a cancelled event', async () => {
    const client = newClient();
    const session = await client.start({ input: 'x', options: slow(20, 5_000) });
    await waitFor(() => session.lastSeq >= 3, { what: 'first events' });
    session.cancel();
    expect((await session.finishedEvent()).type).toBe('cancelled');
    expect(builtinText(20, 5_000).startsWith(await session.text())).toBe(true);
    client.close();
  });
});

describe('client sdk - persistence across a reload', () => {
  it('a new client on the same storage restores the session and rebuilds the exact text from seq 0', async () => {
    const storage = new MemoryStorage();
    const first = newClient({ persist: { storage } });
    const before = await first.start({ input: 'persist me', options: slow(30, 200) });
    await waitFor(() => before.lastSeq >= 10, { what: 'first events' });
    first.close(); // the page goes away mid-answer
    const second = newClient({ persist: { storage } });
    const [restored] = second.restore();
    expect(restored?.sid).toBe(before.sid);
    expect(restored?.input).toBe('persist me');
    expect(await restored!.text()).toBe(builtinText(30, 200));
    expect(restored!.events[0]!.seq).toBe(1);
    second.close();
  });

  it('re-sends a start that was never acknowledged (idempotent by session id)', async () => {
    const storage = new MemoryStorage();
    const sid = `s_unsent${Date.now()}`;
    const start = { sid, input: 'never sent', options: { seed: 31, length: 40, tokensPerSecond: 0 } };
    storage.setItem(
      'streamfabric.sessions',
      JSON.stringify([{ sid, input: start.input, start, createdAt: 1 }]),
    );
    const client = newClient({ persist: { storage } });
    const [restored] = client.restore();
    expect(await restored!.text()).toBe(builtinText(31, 40));
    const kept = JSON.parse(storage.getItem('streamfabric.sessions')!) as { sid: string; start?: unknown }[];
    expect(kept).toEqual([expect.objectContaining({ sid })]);
    expect(kept[0]!.start).toBeUndefined(); // acknowledged: never re-sent again
    client.close();
  });
});
