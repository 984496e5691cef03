import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
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

  it('the AutoGen bridge serves sessions of every partition at P = 3', async () => {
    ensurePython();
    const bridge = await spawnBridge({
      builder: 'streamfabric_autogen.demo:assistant',
      agent: 'autogen-assistant',
      env: { NATS_URL: fabric.nats.urls, NATS_PARTITIONS: '3', NATS_REPLICAS: '3', STREAM_LOG_LEVEL: 'info' },
    });
    try {
      const c = await RawClient.connect(fabric.wsUrl(0));
      const r = await RawClient.connect(fabric.wsUrl(1));
      for (const p of [0, 1, 2]) {
        const sid = sidIn(p, `ag${p}`);
        c.send({
          type: 'start',
          id: `ag${p}`,
          sid,
          agent: 'autogen-assistant',
          input: 'hi',
          options: { length: 12 },
        });
        expect((await c.reply((x) => x.id === `ag${p}`, 20_000)).ok).toBe(true);
        const events = await c.finished(sid);
        assertContiguous(events);
        expect(events.at(-1)?.type).toBe('done');
        // Resumed on the other gateway from the partition's stream: the same events.
        r.send({ type: 'resume', id: `rr${p}`, sid, after: 0 });
        await waitFor(() => r.events(sid).length === events.length, { what: 'bridge session replayed' });
        expect(r.events(sid).map((e) => e.seq)).toEqual(events.map((e) => e.seq));
        expect(eventsStream(sid)).toBe(`FABRIC_EVENTS_${p}`);
      }
      c.close();
      r.close();
    } finally {
      await bridge.kill('SIGTERM');
    }
  }, 120_000);

  it('refuses a process with fewer partitions than recorded; growing P keeps old sessions resumable', async () => {
    await expect(fabric.addWorker({ NATS_PARTITIONS: '2' })).rejects.toThrow(
      /NATS_PARTITIONS=2 is smaller than the 3 partitions recorded.*docs\/partitions\.md/,
    );
    // The bridge (which does not provision) refuses the same way, with the same typed line.
    await expect(
      spawnBridge({
        builder: 'streamfabric_autogen.demo:assistant',
        agent: 'autogen-assistant',
        env: { NATS_URL: fabric.nats.urls, NATS_PARTITIONS: '2', NATS_REPLICAS: '3' },
      }),
    ).rejects.toThrow(/PartitionLayoutError: NATS_PARTITIONS=2 is smaller than the 3 partitions recorded/);
    const c = await RawClient.connect(fabric.wsUrl(0));
    const old = await startIn(c, 2, 'grow', QUICK);
    const before = await c.finished(old);
    c.close();
    // Grow to 4 in the documented order: a worker first, then a gateway; the P = 3 processes keep
    // running (the mixed period of a rolling restart).
    await fabric.addWorker({ NATS_PARTITIONS: '4' });
    const g = await fabric.addGateway({ NATS_PARTITIONS: '4' });
    const kv = await new Kvm(nc).open(META_BUCKET);
    const history = (await kv.get(META_PARTITIONS_KEY))!.json<{ partitions: number }[]>();
    expect(history.map((h) => h.partitions)).toEqual([3, 4]);
    const n = await RawClient.connect(`ws://127.0.0.1:${g.port}/v1/ws`);
    n.send({ type: 'resume', id: 'r', sid: old, after: 0 });
    await waitFor(() => n.events(old).length === before.length, { what: 'old session replayed' });
    expect(n.events(old).map((e) => e.seq)).toEqual(before.map((e) => e.seq));
    // A follow-up turn of the old session on the grown gateway: it stays in its P = 3 partition.
    n.send({ type: 'message', id: 'm', sid: old, text: 'still there?' });
    expect((await n.reply((r) => r.id === 'm')).ok).toBe(true);
    await waitFor(() => n.events(old).filter((e) => e.type === 'done').length === 2, { what: 'old turn 2' });
    expect(eventsStream(old)).toBe('FABRIC_EVENTS_2');
    // New sessions on the grown gateway whose partition differs under 3 and 4, in jobs partitions
    // a P = 3 worker also pulls: whichever worker runs them uses the job's layout (4).
    const fresh: string[] = [];
    for (let i = 0; fresh.length < 3; i++) {
      const sid = `s_fresh_${i}_${Math.random().toString(36).slice(2, 8)}`;
      const p4 = partitionOf(sid, 4);
      if (p4 === 3 || p4 === partitionOf(sid, 3)) continue;
      n.send({ type: 'start', id: `new${i}`, sid, input: 'x', options: QUICK });
      expect((await n.reply((r) => r.id === `new${i}`)).ok).toBe(true);
      fresh.push(sid);
    }
    for (const sid of fresh) {
      const events = await n.finished(sid);
      expect(tokenText(events)).toBe(builtinText(7, 20));
      // Stored in its P = 4 partition, nothing in its P = 3 one.
      const jsm = await jetstreamManager(nc);
      const at4 = await jsm.streams.info(`FABRIC_EVENTS_${partitionOf(sid, 4)}`, {
        subjects_filter: `fabric.ev.public.${sid}.>`,
      });
      expect(Object.values(at4.state.subjects ?? {}).reduce((a, b) => a + b, 0)).toBe(events.length);
      // A gateway still at 3 finds it too (it reads the recorded layouts again on a miss).
      const o = await RawClient.connect(fabric.wsUrl(0));
      o.send({ type: 'resume', id: 'ro', sid, after: 0 });
      const ro = await o.reply((r) => r.id === 'ro');
      expect(ro.ok, JSON.stringify(ro.error)).toBe(true);
      await waitFor(() => o.events(sid).length === events.length, {
        what: 'new session replayed on an old gateway',
        timeoutMs: 15_000,
      });
      expect(o.events(sid).map((e) => e.seq)).toEqual(events.map((e) => e.seq));
      o.close();
    }
    n.close();
  });

  it('after a node is lost its leaders move to the survivors and stay there when it returns; nats:spread spreads them again', async () => {
    await spreadLeaders(nc);
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const leaderOf = async (stream: string) =>
      (await jsm.streams.info(stream).catch(() => null))?.cluster?.leader ?? '';
    const victimName = await leaderOf('FABRIC_EVENTS_0');
    const victim = fabric.nats.nodes.find((n) => n.name === victimName)!;
    expect(victim).toBeDefined();
    await victim.kill();
    await waitFor(async () => !['', victimName].includes(await leaderOf('FABRIC_EVENTS_0')), {
      what: 'a new leader for FABRIC_EVENTS_0',
      timeoutMs: 30_000,
    });
    await victim.restart();
    // Back and caught up as a follower of every partitioned stream...
    await waitFor(
      async () => {
        for (const stream of ['FABRIC_EVENTS_0', 'FABRIC_EVENTS_1', 'FABRIC_EVENTS_2']) {
          const info = await jsm.streams.info(stream).catch(() => null);
          const peer = info?.cluster?.replicas?.find((r) => r.name === victimName);
          if (!peer?.current) return false;
        }
        return true;
      },
      { what: `${victimName} current again`, timeoutMs: 45_000 },
    );
    // ...but leading nothing: NATS does not move leaders back.
    expect(await leaderOf('FABRIC_EVENTS_0')).not.toBe(victimName);
    const placement = await spreadLeaders(nc);
    for (const p of placement) expect(p.leader, p.stream).toBe(p.wanted);
    expect(await leaderOf('FABRIC_EVENTS_0')).toBe(victimName);
    // And the fabric still streams in every partition.
    const c = await RawClient.connect(fabric.wsUrl(0));
    for (const p of [0, 1, 2]) {
      const sid = await startIn(c, p, `after${p}`, QUICK);
      expect(tokenText(await c.finished(sid))).toBe(builtinText(7, 20));
    }
    c.close();
  }, 120_000);
});
