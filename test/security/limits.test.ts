import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRssBytes } from '../../scripts/fuzz/process-memory.js';
import { encodeFrame, OP, RawSocket } from '../../scripts/fuzz/raw-ws.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient, tokenText } from '../harness/raw-client.js';
import { errorCode, tryUpgrade } from './upgrade-probe.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: {
      RATE_LIMIT_FRAMES_PER_SECOND: '5',
      RATE_LIMIT_BURST: '10',
      RATE_LIMIT_CLOSE_AFTER: '20',
      MAX_INPUT_CHARS: '1000',
      MAX_FRAME_BYTES: '4096',
      STREAM_HEARTBEAT_INTERVAL: '1000',
    },
  });
  // g1: a tiny connection limit; g2: a tiny send-buffer cap and no rate limit (flood tests).
  await fabric.addGateway({ STREAM_MAX_CONNECTIONS: '2' });
  await fabric.addGateway({
    MAX_BACKPRESSURE_BYTES: '4096',
    MAX_SESSIONS_PER_CONNECTION: '2',
    RATE_LIMIT_FRAMES_PER_SECOND: '1000000',
    RATE_LIMIT_BURST: '1000000',
  });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('limits - frame rate', () => {
  it('answers frames over the rate with a retryable rate_limited error and serves the client again later', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    for (let i = 0; i < 14; i++) c.send({ type: 'ping', id: `p${i}` });
    const limited = await c.reply((r) => r.error?.code === 'rate_limited');
    expect(limited.error).toMatchObject({ retryable: true });
    expect(limited.error!.retryAfterMs).toBeGreaterThan(0);
    await waitFor(() => c.frames.filter((f) => f.type === 'pong').length >= 10, { what: 'burst pongs' });
    expect(c.frames.filter((f) => f.type === 'pong').length).toBeLessThan(14);
    // After the advertised wait, the bucket has refilled.
    await new Promise((r) => setTimeout(r, limited.error!.retryAfterMs! + 50)); // the server's own hint
    c.send({ type: 'ping', id: 'later' });
    await waitFor(() => c.frames.some((f) => f.type === 'pong' && f.id === 'later'), { what: 'pong later' });
    expect(c.closeInfo.code).toBeUndefined();
    c.close();
  });

  it('closes a client that keeps flooding with 4008, leaving a bystander session unharmed', async () => {
    const bystander = await RawClient.connect(fabric.wsUrl(0));
    bystander.send({
      type: 'start',
      id: 1,
      input: 'b',
      options: { seed: 31, length: 80, tokensPerSecond: 100 },
    });
    const sid = (await bystander.reply((r) => r.id === 1)).sid!;
    const flood = await RawClient.connect(fabric.wsUrl(0));
    for (let i = 0; i < 200; i++) flood.send({ type: 'ping' });
    await waitFor(() => flood.closeInfo.code, { what: 'flood close' });
    expect(flood.closeInfo.code).toBe(4008);
    expect(tokenText(await bystander.finished(sid))).toBe(builtinText(31, 80));
    bystander.close();
  });
});

describe('limits - sizes', () => {
  it('answers an input over MAX_INPUT_CHARS with limit_exceeded and keeps the connection', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 1, input: 'x'.repeat(1001) });
    expect((await c.reply((r) => r.id === 1)).error).toMatchObject({
      code: 'limit_exceeded',
      retryable: false,
    });
    c.send({ type: 'start', id: 2, input: 'x'.repeat(1000), options: { seed: 1, length: 3 } });
    expect((await c.reply((r) => r.id === 2)).ok).toBe(true);
    c.close();
  });

  it('closes a frame over MAX_FRAME_BYTES with 1009', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', input: 'y'.repeat(5000) });
    await waitFor(() => c.closeInfo.code, { what: 'close' });
    expect(c.closeInfo.code).toBe(1009);
  });
});

describe('limits - sessions per connection', () => {
  it('answers too_many_sessions above MAX_SESSIONS_PER_CONNECTION, for starts and resumes, until one is released', async () => {
    const c = await RawClient.connect(fabric.wsUrl(2));
    const slow = { seed: 5, length: 2000, tokensPerSecond: 20 };
    c.send({ type: 'start', id: 1, input: 'a', options: slow });
    c.send({ type: 'start', id: 2, input: 'b', options: slow });
    const sids = await Promise.all([1, 2].map(async (id) => (await c.reply((r) => r.id === id)).sid!));
    c.send({ type: 'start', id: 3, input: 'c', options: slow });
    expect((await c.reply((r) => r.id === 3)).error?.code).toBe('too_many_sessions');
    const other = await RawClient.connect(fabric.wsUrl(2));
    other.send({ type: 'start', id: 1, input: 'd', options: { seed: 6, length: 3 } });
    const third = (await other.reply((r) => r.id === 1)).sid!;
    c.send({ type: 'resume', id: 4, sid: third, after: 0 });
    expect((await c.reply((r) => r.id === 4)).error?.code).toBe('too_many_sessions');
    c.send({ type: 'unsubscribe', id: 5, sid: sids[0]! });
    await c.reply((r) => r.id === 5);
    c.send({ type: 'resume', id: 6, sid: third, after: 0 });
    expect((await c.reply((r) => r.id === 6)).ok).toBe(true);
    for (const sid of sids) c.send({ type: 'cancel', sid });
    c.close();
    other.close();
  });
});

describe('limits - connections', () => {
  it('answers 503 overloaded at the upgrade above STREAM_MAX_CONNECTIONS, and accepts again after a close', async () => {
    const a = await RawClient.connect(fabric.wsUrl(1));
    const b = await RawClient.connect(fabric.wsUrl(1));
    const third = await tryUpgrade(fabric.wsUrl(1));
    expect(!third.opened && third.status).toBe(503);
    expect(!third.opened && errorCode(third.body)).toBe('overloaded');
    a.close();
    const again = await waitFor(
      async () => {
        const r = await tryUpgrade(fabric.wsUrl(1));
        return r.opened ? r : null;
      },
      { what: 'a free slot' },
    );
    again.ws.close();
    b.close();
  });
});

describe('limits - slow and silent clients', () => {
  it('disconnects TCP clients that never finish the upgrade, and upgraded ones that never answer pings', async () => {
    const port = fabric.gateways[0]!.port;
    const silent = await RawSocket.open(port);
    const loris = await RawSocket.open(port);
    loris.write('GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    const dribble = setInterval(() => loris.write('X'), 1000);
    const mute = await RawSocket.upgrade(port); // never sends a byte, never answers a ping
    expect(mute.status).toBe(101);
    try {
      // uWS closes an HTTP connection idle ~10 s; a WebSocket silent past its idleTimeout (8 s here).
      await Promise.all(
        [silent, loris, mute].map((s) =>
          waitFor(() => s.ended, { timeoutMs: 30_000, what: 'the server to drop the socket' }),
        ),
      );
    } finally {
      clearInterval(dribble);
    }
  });

  it('cuts off a flooding client that never reads at the send-buffer cap (4102) with gateway memory bounded', async () => {
    const gw = fabric.gateways[2]!;
    const before = readRssBytes(gw.process.pid!);
    const r = await RawSocket.upgrade(gw.port);
    r.socket.pause();
    const ping = encodeFrame(OP.text, JSON.stringify({ type: 'ping', id: 'z'.repeat(64) }));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    for (let i = 0; i < 200 && !r.ended; i++) {
      if (!r.socket.write(batch)) await new Promise((x) => r.socket.once('drain', x));
    }
    r.socket.resume();
    await waitFor(() => r.closeCode ?? (r.ended ? -1 : undefined), { timeoutMs: 30_000, what: 'close' });
    expect(r.closeCode).toBe(4102);
    const after = readRssBytes(gw.process.pid!);
    expect(after - before).toBeLessThan(64 * 1024 * 1024);
    // The gateway still serves.
    const c = await RawClient.connect(fabric.wsUrl(2));
    c.send({ type: 'ping', id: 'alive' });
    await waitFor(() => c.frames.some((f) => f.id === 'alive'), { what: 'pong' });
    c.close();
  });
});

describe('auth - dev mode', () => {
  it('warns loudly at start that there is no authentication', () => {
    const warning = fabric.gateways[0]!.logs.find((l) => l.authMode === 'dev');
    expect(warning?.level).toBe(40);
    expect(String(warning?.msg)).toContain('NO AUTHENTICATION');
  });
});
