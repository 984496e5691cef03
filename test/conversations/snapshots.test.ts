import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { readConversation, SnapshotStore } from '../../shared/nats/conversation-snapshots.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { SNAPSHOTS_BUCKET, snapshotKey } from '../../shared/nats/subjects.js';
import {
  type ConversationSnapshot,
  estimateTokens,
  foldConversation,
  type SessionEvent,
} from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

let fabric: TestFabric;
let nc: NatsConnection;
let log: JetStreamEventLog;
let store: SnapshotStore;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1 });
  nc = await connect({ servers: fabric.nats.urls });
  log = await JetStreamEventLog.create(nc);
  store = await SnapshotStore.open(nc);
});
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

const OPTS = { seed: 900, length: 30, tokensPerSecond: 0 };
const TENANT = 'public';
const terminal = (e: SessionEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';
/** What a snapshot stores of a conversation folded from events (its JSON form). */
const stored = (events: SessionEvent[]) => JSON.parse(JSON.stringify(foldConversation(events)));

/** A conversation of `turns` finished turns, run through a gateway; returns its sid and events. */
async function conversation(
  turns: number,
  tag: string,
  options: typeof OPTS & { team?: string[] } = OPTS,
): Promise<{ sid: string; events: SessionEvent[] }> {
  const c = await RawClient.connect(fabric.wsUrl(0));
  c.send({ type: 'start', id: 's', input: `${tag} 1`, options });
  const sid = (await c.reply((r) => r.id === 's')).sid!;
  for (let n = 1; n <= turns; n++) {
    if (n > 1) {
      c.send({ type: 'message', id: `m${n}`, sid, text: `${tag} ${n}`, turn: n });
      expect(await c.reply((r) => r.id === `m${n}`)).toMatchObject({ ok: true, turn: n });
    }
    await waitFor(() => c.events(sid).filter(terminal).length >= n, { timeoutMs: 30_000, what: `turn ${n}` });
  }
  const events = c.events(sid);
  c.close();
  return { sid, events };
}

/** The snapshot once it covers `seq` (the worker writes it just after the terminal event). */
function snapshotAt(sid: string, seq: number): Promise<ConversationSnapshot> {
  return waitFor(
    async () => {
      const s = await store.get(TENANT, sid);
      return s && s.seq >= seq ? s : null;
    },
    { timeoutMs: 15_000, what: `snapshot of ${sid} at ${seq}` },
  );
}

async function putRaw(sid: string, value: string): Promise<void> {
  const kv = await new Kvm(nc).open(SNAPSHOTS_BUCKET);
  await kv.put(snapshotKey(TENANT, sid), value);
}

describe('conversation snapshots', () => {
  it('the worker writes a snapshot per finished turn and the next turn is read from it', async () => {
    const { sid, events } = await conversation(3, 'snap');
    assertContiguous(events);
    const snap = await snapshotAt(sid, events.at(-1)!.seq);
    expect(snap).toMatchObject({ v: 1, tenant: TENANT, sid, seq: events.at(-1)!.seq });
    expect(snap.conversation).toEqual(stored(events));
    const read = await readConversation(log, store, TENANT, sid);
    expect(read.fromSnapshotSeq).toBe(snap.seq);
    expect(read.events.map((e) => e.seq)).toEqual([snap.seq]); // only the anchor: nothing after it
    expect(JSON.parse(JSON.stringify(read.conversation))).toEqual(stored(events));
  });

  it("the worker's snapshot, folded from its own writes, is what the whole log folds to (team messages too)", async () => {
    const { sid, events } = await conversation(2, 'team', { ...OPTS, team: ['planner', 'critic'] });
    expect(events.some((e) => e.type === 'message')).toBe(true);
    const snap = await snapshotAt(sid, events.at(-1)!.seq);
    const full = await readConversation(log, undefined, TENANT, sid);
    expect(snap.streamSeq).toBe(full.lastStreamSeq);
    expect(snap.conversation).toEqual(JSON.parse(JSON.stringify(full.conversation)));
  });

  it('falls back to the full read for a corrupt, foreign, newer or unanchored snapshot, with the same answer', async () => {
    const { sid, events } = await conversation(2, 'stale');
    const good = await snapshotAt(sid, events.at(-1)!.seq);
    const other = await conversation(1, 'other');
    const foreign = await snapshotAt(other.sid, other.events.at(-1)!.seq);
    const want = stored(events);
    const cases: [string, string][] = [
      ['corrupt bytes', '{"v":1,"sid":'],
      ['wrong version', JSON.stringify({ ...good, v: 2 })],
      ['another session', JSON.stringify(foreign)],
      ['newer than the log', JSON.stringify({ ...good, seq: good.seq + 5, streamSeq: good.streamSeq + 50 })],
      // A rewritten log: the stored message at streamSeq is not event seq of this session any more.
      ['anchor moved', JSON.stringify({ ...good, streamSeq: good.streamSeq - 1 })],
    ];
    for (const [what, value] of cases) {
      await putRaw(sid, value);
      const read = await readConversation(log, store, TENANT, sid);
      expect(read.fromSnapshotSeq, what).toBe(0);
      expect(JSON.parse(JSON.stringify(read.conversation)), what).toEqual(want);
      expect(read.lastSeq, what).toBe(events.at(-1)!.seq);
    }
    // An old but valid snapshot (turn 1 only): the tail after it completes the conversation.
    const turn1End = events.find(terminal)!.seq;
    const old = { ...good, seq: turn1End, conversation: stored(events.filter((e) => e.seq <= turn1End)) };
    let oldAt = 0;
    for await (const e of log.readAfter(TENANT, sid, 0)) if (e.seq === turn1End) oldAt = e.streamSeq;
    await putRaw(sid, JSON.stringify({ ...old, streamSeq: oldAt }));
    const read = await readConversation(log, store, TENANT, sid);
    expect(read.fromSnapshotSeq).toBe(turn1End);
    expect(JSON.parse(JSON.stringify(read.conversation))).toEqual(want);

    // A real follow-up over a corrupt snapshot: the worker reads the whole log and gives the same
    // history (the built-in agent's prompt size is the history it was given).
    await putRaw(sid, 'not json');
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'resume', id: 'r', sid, after: events.at(-1)!.seq });
    await c.reply((r) => r.id === 'r');
    c.send({ type: 'message', id: 'm3', sid, text: 'stale 3', turn: 3 });
    await waitFor(() => c.events(sid).some(terminal), { timeoutMs: 30_000, what: 'turn 3' });
    const all = [...events, ...c.events(sid)];
    c.close();
    assertContiguous(all);
    const usage = all.filter((e) => e.type === 'usage').at(-1);
    expect(usage?.type === 'usage' && usage.promptTokens).toBe(
      estimateTokens(foldConversation(events).turns, 'stale 3'),
    );
    // And it wrote a good snapshot again.
    expect((await snapshotAt(sid, all.at(-1)!.seq)).conversation).toEqual(stored(all));
  });

  it('a new device opens a conversation from its snapshot: the turns at once, then only later events', async () => {
    const { sid, events } = await conversation(4, 'device');
    await snapshotAt(sid, events.at(-1)!.seq);
    const client = new StreamFabricClient({ url: fabric.wsUrl(0), WebSocket: WebSocket as never });
    try {
      const s = await client.resume(sid, 0, { snapshot: true });
      await waitFor(() => s.turns.length === 4, { timeoutMs: 10_000, what: 'the snapshot' });
      expect(JSON.parse(JSON.stringify({ turns: s.turns, lastSeq: s.lastSeq }))).toEqual(stored(events));
      expect(s.events).toEqual([]); // no token of the four turns was sent
      expect(s.finished).toBe(true);
      expect((await s.finishedEvent()).type).toBe('done');

      // A follow-up from this device: its events arrive after the snapshot's seq, each once.
      const reply = await s.send('device 5');
      expect(reply.length).toBeGreaterThan(0);
      const after = s.events;
      expect(after[0]).toMatchObject({ seq: events.at(-1)!.seq + 1, type: 'user_message', text: 'device 5' });
      assertContiguous(after, events.at(-1)!.seq);
      const full = await readConversation(log, undefined, TENANT, sid);
      expect(JSON.parse(JSON.stringify({ turns: s.turns, lastSeq: s.lastSeq }))).toEqual(
        JSON.parse(JSON.stringify(full.conversation)),
      );
    } finally {
      client.close();
    }
  });

  it('a resume with snapshot during a running turn gets the snapshot, then the turn from seq + 1', async () => {
    // Paced, so turn 3 is still running when the second device opens the conversation.
    const { sid, events } = await conversation(2, 'live', { ...OPTS, length: 40, tokensPerSecond: 40 });
    const snap = await snapshotAt(sid, events.at(-1)!.seq);
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'resume', id: 'r0', sid, after: snap.seq });
    await a.reply((r) => r.id === 'r0');
    a.send({ type: 'message', id: 'm', sid, text: 'live 3', turn: 3 });
    await a.reply((r) => r.id === 'm');
    const b = await RawClient.connect(fabric.wsUrl(0));
    b.send({ type: 'resume', id: 'r', sid, after: 0, snapshot: true });
    const r = await b.reply((x) => x.id === 'r');
    expect(r.ok).toBe(true);
    expect(a.events(sid).some(terminal)).toBe(false); // still running
    expect(r.conversation).toEqual(snap.conversation);
    await waitFor(() => b.events(sid).some(terminal), { timeoutMs: 30_000, what: 'turn 3 on b' });
    const tail = b.events(sid);
    assertContiguous(tail, snap.seq);
    expect(tail.map((e) => e.seq)).toEqual(a.events(sid).map((e) => e.seq));
    a.close();
    b.close();
  });

  it('SSE ?snapshot=1 sends the conversation (id = the seq it covers), then only what follows', async () => {
    const { sid, events } = await conversation(3, 'sse');
    const snap = await snapshotAt(sid, events.at(-1)!.seq);
    const body = await (await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events?snapshot=1`)).text();
    const frames = body.split('\n\n').filter((f) => f.includes('data:'));
    expect(frames).toHaveLength(2); // the conversation and `end`: no event of the three turns
    expect(frames[0]).toContain(`id: ${snap.seq}\nevent: conversation\n`);
    const data = JSON.parse(frames[0]!.split('data: ')[1]!);
    expect(data).toEqual(stored(events));
    expect(frames[1]).toContain('event: end');
    // Without the option, as before: every event from seq 1 (until the first turn's end).
    const full = await (await fetch(`${fabric.httpUrl(0)}/v1/sessions/${sid}/events`)).text();
    expect(full.split('\n\n').filter((f) => f.startsWith('id: '))).toHaveLength(
      events.findIndex(terminal) + 1,
    );
  });

  it('a resume without the option (an older client) is unchanged: every event from after', async () => {
    const { sid, events } = await conversation(1, 'old');
    await snapshotAt(sid, events.at(-1)!.seq);
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'resume', id: 'r', sid, after: 0 });
    const r = await c.reply((x) => x.id === 'r');
    expect(r.conversation).toBeUndefined();
    const got = await c.finished(sid);
    c.close();
    expect(got.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
  });
});
