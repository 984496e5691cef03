import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { JetStreamEventLog, LogConflictError } from '../../shared/nats/event-log.js';
import { spreadLeaders } from '../../shared/nats/leaders.js';
import {
  eventsStream,
  META_BUCKET,
  META_PARTITIONS_KEY,
  partitionOf,
  sessionsBucket,
  setPartitionLayout,
} from '../../shared/nats/subjects.js';
import { verticalSliceSuite } from '../e2e/vertical-slice.suite.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { CurlSse } from '../http/curl-sse.js';
import { resumeSuite } from './resume.suite.js';

/**
 * Issue 13's done-criterion: the vertical slice and the resume tests at NATS_PARTITIONS=3 on a
 * 3-node R3 cluster, plus what partitions change (docs/partitions.md), all on one cluster.
 */
let fabric: TestFabric;
let nc: NatsConnection;

beforeAll(async () => {
  fabric = await startFabric({ natsNodes: 3, gateways: 2, workers: 2, env: { NATS_PARTITIONS: '3' } });
  setPartitionLayout(3, [3]); // this test process reads the streams itself
  nc = await connect({ servers: fabric.nats.urls.split(',') });
}, 120_000);
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

verticalSliceSuite(() => fabric);
resumeSuite(() => fabric);

/** A client-chosen sid that lands in partition `p` of 3. */
function sidIn(p: number, tag: string): string {
  for (let i = 0; ; i++) {
    const sid = `s_${tag}_${i}_${Math.random().toString(36).slice(2, 8)}`;
    if (partitionOf(sid, 3) === p) return sid;
  }
}

async function startIn(c: RawClient, p: number, tag: string, options: Record<string, unknown>) {
  const sid = sidIn(p, tag);
  c.send({ type: 'start', id: tag, sid, input: tag, options });
  const r = await c.reply((x) => x.id === tag, 20_000);
  expect(r.ok, JSON.stringify(r.error)).toBe(true);
  return sid;
}

const QUICK = { seed: 7, length: 20, tokensPerSecond: 0 };

describe('partitions - P = 3 on a 3-node R3 cluster', () => {
  it('puts each session in the partition of its sid, and the session list merges every partition', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sids = [];
    for (const p of [0, 1, 2]) sids.push(await startIn(c, p, `part${p}`, QUICK));
    const log = await JetStreamEventLog.create(nc);
    const jsm = await jetstreamManager(nc);
    for (const [p, sid] of sids.entries()) {
      const events = await c.finished(sid);
      assertContiguous(events);
      expect(tokenText(events)).toBe(builtinText(7, 20));
      expect(eventsStream(sid)).toBe(`FABRIC_EVENTS_${p}`);
      expect(await log.count('public', sid)).toBe(events.length);
      // Nothing of it in the other partitions.
      for (const q of [0, 1, 2].filter((x) => x !== p)) {
        const info = await jsm.streams.info(`FABRIC_EVENTS_${q}`, {
          subjects_filter: `fabric.ev.public.${sid}.>`,
        });
        expect(info.state.subjects ?? {}).toEqual({});
      }
      const kv = await new Kvm(nc).open(sessionsBucket(sid));
      expect((await kv.get(sid))?.operation).toBe('PUT');
    }
    for (const g of [0, 1]) {
      const res = await fetch(`${fabric.httpUrl(g)}/v1/sessions?limit=500`);
      const listed = ((await res.json()) as { sessions: { sid: string }[] }).sessions.map((s) => s.sid);
      for (const sid of sids) expect(listed).toContain(sid);
    }
    c.close();
  });

  it('spreads the partition leaders over the three nodes', async () => {
    const placement = await spreadLeaders(nc);
    for (const p of placement) expect(p.leader, p.stream).toBe(p.wanted);
    const jsm = await jetstreamManager(nc);
    const leaders = await Promise.all(
      [0, 1, 2].map(async (i) => (await jsm.streams.info(`FABRIC_EVENTS_${i}`)).cluster?.leader),
    );
    expect(new Set(leaders).size).toBe(3);
  });

  it('a follow-up turn, a human answer, fencing and delete work in every partition', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    const b = await RawClient.connect(fabric.wsUrl(1));
    const log = await JetStreamEventLog.create(nc);
    for (const p of [0, 1, 2]) {
      const sid = await startIn(a, p, `conv${p}`, {
        ...QUICK,
        askUser: { prompt: 'Which colour?', options: ['red', 'blue'] },
      });
      const req = await waitFor(() => a.events(sid).find((e) => e.type === 'input_request'), {
        what: 'input_request',
        timeoutMs: 20_000,
      });
      b.send({ type: 'resume', id: `r${p}`, sid, after: 0 });
      b.send({
        type: 'input',
        id: `i${p}`,
        sid,
        requestId: req.type === 'input_request' ? req.requestId : '',
        text: 'blue',
      });
      expect((await b.reply((r) => r.id === `i${p}`)).ok).toBe(true);
      await waitFor(() => a.events(sid).filter((e) => e.type === 'done').length === 1, { what: 'turn 1' });
      // Turn 2 from the other gateway.
      b.send({ type: 'message', id: `m${p}`, sid, text: 'and then?' });
      const m = await b.reply((r) => r.id === `m${p}`);
      expect(m.ok, JSON.stringify(m.error)).toBe(true);
      expect(m.turn).toBe(2);
      // The session's options ask the user again in turn 2: answer from the other gateway.
      const req2 = await waitFor(() => a.events(sid).filter((e) => e.type === 'input_request')[1], {
        what: 'second input_request',
        timeoutMs: 20_000,
      });
      b.send({
        type: 'input',
        id: `j${p}`,
        sid,
        requestId: req2.type === 'input_request' ? req2.requestId : '',
        text: 'red',
      });
      expect((await b.reply((r) => r.id === `j${p}`)).ok).toBe(true);
      await waitFor(() => a.events(sid).filter((e) => e.type === 'done').length === 2, { what: 'turn 2' });
      assertContiguous(a.events(sid));
      // Fencing: an append that expects an older position of the log is refused.
      const last = await log.last('public', sid, { fromLeader: true });
      expect(last).not.toBeNull();
      await expect(
        log.append(
          'public',
          {
            sid,
            seq: last!.event.seq + 1,
            ts: Date.now(),
            type: 'user_message',
            text: 'stale',
            user: 'x',
          } as never,
          last!.streamSeq - 1,
          'zombie',
        ),
      ).rejects.toBeInstanceOf(LogConflictError);
      // Delete: the log and the record go, in the session's partition.
      a.send({ type: 'delete', id: `d${p}`, sid });
      expect((await a.reply((r) => r.id === `d${p}`)).ok).toBe(true);
      await waitFor(async () => (await log.count('public', sid)) === 0, { what: 'events purged' });
      const kv = await new Kvm(nc).open(sessionsBucket(sid));
      await waitFor(async () => (await kv.get(sid))?.operation !== 'PUT', { what: 'record deleted' });
    }
    a.close();
    b.close();
  });

  it('serves SSE and the OpenAI-compatible endpoint for sessions of every partition', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    for (const p of [0, 1, 2]) {
      const sid = await startIn(c, p, `sse${p}`, QUICK);
      await c.finished(sid);
      const sse = new CurlSse(`${fabric.httpUrl(1)}/v1/sessions/${sid}/events`);
      await waitFor(() => sse.events().some((e) => e.type === 'done'), {
        what: 'SSE done',
        timeoutMs: 20_000,
      });
      await sse.kill();
    }
    const res = await fetch(`${fabric.httpUrl(1)}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'builtin', messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    c.close();
  });

  it('refuses a process with fewer partitions than recorded; growing P keeps old sessions resumable', async () => {
    await expect(fabric.addWorker({ NATS_PARTITIONS: '2' })).rejects.toThrow(
      /NATS_PARTITIONS=2 is smaller than the 3 partitions recorded.*docs\/partitions\.md/,
    );
    const c = await RawClient.connect(fabric.wsUrl(0));
    const old = await startIn(c, 2, 'grow', QUICK);
    const before = await c.finished(old);
    c.close();
    // Grow to 4: a gateway and a worker with the new value; the old ones keep running.
    const g = await fabric.addGateway({ NATS_PARTITIONS: '4' });
    await fabric.addWorker({ NATS_PARTITIONS: '4' });
    const kv = await new Kvm(nc).open(META_BUCKET);
    const history = (await kv.get(META_PARTITIONS_KEY))!.json<{ partitions: number }[]>();
    expect(history.map((h) => h.partitions)).toEqual([3, 4]);
    const n = await RawClient.connect(`ws://127.0.0.1:${g.port}/v1/ws`);
    n!.send({ type: 'resume', id: 'r', sid: old, after: 0 });
    await waitFor(() => n!.events(old).length === before.length, { what: 'old session replayed' });
    expect(n!.events(old).map((e) => e.seq)).toEqual(before.map((e) => e.seq));
    // A follow-up turn of the old session, and a new session, on the grown gateway.
    n!.send({ type: 'message', id: 'm', sid: old, text: 'still there?' });
    expect((await n!.reply((r) => r.id === 'm')).ok).toBe(true);
    await waitFor(() => n!.events(old).filter((e) => e.type === 'done').length === 2, { what: 'old turn 2' });
    n!.send({ type: 'start', id: 'new', input: 'x', options: QUICK });
    const fresh = (await n!.reply((r) => r.id === 'new')).sid!;
    expect(tokenText(await n!.finished(fresh))).toBe(builtinText(7, 20));
    n!.close();
  });
});
