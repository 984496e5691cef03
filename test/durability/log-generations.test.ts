import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import type { SessionEvent } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { RawClient } from '../harness/raw-client.js';
import { hsToken, TEST_SECRET } from '../harness/tokens.js';

// A log that is lost and written again (a purge here; a whole-cluster crash under lazy fsync in
// production) reuses seqs for different events. Positions carry the writer's epoch, so a client
// holding the old events is told (`log_rewritten`) and the client library drops and re-reads.
let fabric: TestFabric;
let nc: NatsConnection;
let eventLog: JetStreamEventLog;
const TENANT = 'acme';
const WAIT = { askUser: { prompt: 'Which one?', timeoutMs: 600_000 } };

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    gatewayEnv: { AUTH_MODE: 'jwt', AUTH_JWT_SECRET: TEST_SECRET },
  });
  nc = await connect({ servers: fabric.nats.urls.split(',') });
  eventLog = await JetStreamEventLog.create(nc);
});
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

/** Wipes the session's log and writes a different one under the same seqs, as a new writer would. */
async function rewrite(sid: string, text: string): Promise<SessionEvent[]> {
  await eventLog.purge(TENANT, sid);
  const ts = Date.now();
  const log: SessionEvent[] = [
    { sid, seq: 1, ts, type: 'user_message', text: 'rewritten prompt', user: 'alice' },
    { sid, seq: 2, ts, type: 'token', text },
    { sid, seq: 3, ts, type: 'done', finishReason: 'stop', tokens: 1, durationMs: 1 },
  ];
  let streamSeq = 0;
  for (const ev of log) streamSeq = await eventLog.append(TENANT, ev, streamSeq, 'test-rewriter');
  return log;
}

function client(gate: { open: Promise<void> }): StreamFabricClient {
  return new StreamFabricClient({
    url: fabric.wsUrl(0),
    WebSocket: WebSocket as never,
    backoff: { baseMs: 50, maxMs: 200 },
    networkSignals: false,
    token: async () => {
      await gate.open;
      return hsToken({ sub: 'alice', tenant: TENANT });
    },
  });
}

const shape = (evs: readonly SessionEvent[]) => evs.map((e) => [e.seq, e.type, 'text' in e ? e.text : '']);

describe('log generations - a rewritten log is never mixed with the events a client holds', () => {
  it('resume: a client that held the old log is refused with log_rewritten, drops it and reads the new one', async () => {
    let release = () => {};
    const gate = { open: Promise.resolve() };
    const c = client(gate);
    const s = await c.start({ input: 'generations', options: WAIT });
    await waitFor(() => s.events.find((e) => e.type === 'input_request'), { what: 'input_request' });
    const held = s.events.map((e) => e.epoch);
    expect(held.every((e) => typeof e === 'string')).toBe(true);
    // Disconnect, and hold the reconnect until the log was rewritten under the client.
    gate.open = new Promise<void>((r) => {
      release = r;
    });
    c.dropConnection();
    const rewritten = await rewrite(s.sid, 'the new generation');
    release();
    await waitFor(() => s.finished && s.events.length === 3, {
      what: 'the rewritten log',
      timeoutMs: 20_000,
    });
    expect(s.rewrites).toBe(1);
    expect(shape(s.events)).toEqual(shape(rewritten));
    expect(await s.text()).toBe('the new generation');
    c.close();
  });

  it('live: a subscriber that sees its last event rewritten is told, and the client re-reads', async () => {
    const c = client({ open: Promise.resolve() });
    const s = await c.start({ input: 'generations live', options: WAIT });
    await waitFor(() => s.events.find((e) => e.type === 'input_request'), { what: 'input_request' });
    let told = 0;
    s.onRewritten(() => told++);
    const rewritten = await rewrite(s.sid, 'rewritten while watching');
    await waitFor(() => s.finished && s.events.length === 3, {
      what: 'the rewritten log',
      timeoutMs: 20_000,
    });
    expect(told).toBe(1);
    expect(shape(s.events)).toEqual(shape(rewritten));
    c.close();
  });

  it('wire: a resume naming another epoch gets a typed, non-retryable log_rewritten; the right epoch resumes', async () => {
    const raw = await RawClient.connect(fabric.wsUrl(0), [
      'streamfabric.v1',
      `bearer.${await hsToken({ sub: 'alice', tenant: TENANT })}`,
    ]);
    raw.send({ type: 'start', id: 1, input: 'wire', options: { length: 5, tokensPerSecond: 0 } });
    const sid = (await raw.reply((r) => r.id === 1)).sid!;
    const evs = await raw.finished(sid);
    const last = evs.at(-1)!;
    raw.send({ type: 'resume', id: 2, sid, after: last.seq, epoch: 'someoneelse' });
    const refused = await raw.reply((r) => r.id === 2);
    expect(refused).toMatchObject({ ok: false, error: { code: 'log_rewritten', retryable: false } });
    raw.send({ type: 'resume', id: 3, sid, after: last.seq, epoch: last.epoch!, pos: last.prevPos! });
    expect(await raw.reply((r) => r.id === 3)).toMatchObject({ ok: true, lastSeq: last.seq });
    // Past the end of a shorter rewritten log: refused too (not `invalid_argument`).
    raw.send({ type: 'resume', id: 4, sid, after: last.seq + 5, epoch: last.epoch! });
    expect(await raw.reply((r) => r.id === 4)).toMatchObject({ ok: false, error: { code: 'log_rewritten' } });
    raw.close();
  });
});
