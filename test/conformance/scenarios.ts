import { Kvm } from '@nats-io/kv';
import { expect } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { SESSIONS_BUCKET, SNAPSHOTS_BUCKET, snapshotKey, subjects } from '../../shared/nats/subjects.js';
import {
  ConversationSnapshot,
  type ConversationTurn,
  foldConversation,
  type SessionEvent,
} from '../../shared/protocol/index.js';
import { readLog, startSession } from '../durability/helpers.js';
import { deadLetters } from '../harness/dead-letters.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { finalAnswer, type StartSpec, type WorkerDriver } from './driver.js';
import { type ConformanceTopology, POISON_MAX_DELIVER } from './topology.js';

/**
 * One behaviour every worker implementation must show. `run` asserts it against a live topology
 * and notes what this implementation did where implementations may legitimately differ (e.g. a
 * restart that continues the text vs one that reruns the turn).
 */
export interface Scenario {
  id: string;
  title: string;
  /** Asserts the behaviour; `notes` collects what was observed (kept when an assertion fails). */
  run(t: ConformanceTopology, notes: string[]): Promise<void>;
}

const isTerminal = (e: SessionEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';

async function start(c: RawClient, s: StartSpec, tag: string): Promise<string> {
  return startSession(c, tag, s.options ?? {}, s.input, s.agent);
}

/** Token events since the last `restart` (the current attempt's). */
function attemptTokens(events: SessionEvent[]): number {
  const from = events.findLastIndex((e) => e.type === 'restart');
  return events.slice(from + 1).filter((e) => e.type === 'token').length;
}

function restartNotes(events: SessionEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'restart' ? [`restart attempt ${e.attempt} mode ${e.mode}`] : []));
}

/** The sessions' state in the registry (KV), e.g. `waiting_for_input`. */
async function registryState(t: ConformanceTopology, sid: string): Promise<string | undefined> {
  const kv = await new Kvm(t.nc).open(SESSIONS_BUCKET);
  return (await kv.get(sid))?.json<{ state: string }>().state;
}

const streamed: Scenario = {
  id: 'stream',
  title: 'contiguous seq from 1 and the exact text',
  async run(t, notes) {
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.stream({ length: 60, tokensPerSecond: 0, tag: 'stream' });
    const sid = await start(c, s, 'stream');
    const events = await c.finished(sid);
    c.close();
    notes.push(`${events.length} events: ${[...new Set(events.map((e) => e.type))].join(', ')}`);
    assertContiguous(events);
    expect(events[0]).toMatchObject({ seq: 1, type: 'user_message', text: s.input });
    expect(events.filter((e) => e.type === 'restart')).toEqual([]);
    expect(events.at(-1)!.type).toBe('done');
    expect(tokenText(events)).toBe(t.driver.streamText(s));
  },
};

const cancel: Scenario = {
  id: 'cancel',
  title: 'cancel mid-stream ends with `cancelled`',
  async run(t, notes) {
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.stream({ length: 3000, tokensPerSecond: 50, tag: 'cancel' });
    const sid = await start(c, s, 'cancel');
    await waitFor(() => attemptTokens(c.events(sid)) >= 3, { timeoutMs: 30_000, what: 'first tokens' });
    c.send({ type: 'cancel', sid });
    const events = await c.finished(sid);
    c.close();
    const text = tokenText(events);
    const full = t.driver.streamText(s);
    notes.push(`cancelled after ${text.split(' ').length} of ${full.split(' ').length} words`);
    assertContiguous(events);
    expect(events.at(-1)!.type).toBe('cancelled');
    expect(events.filter(isTerminal)).toHaveLength(1);
    // Stopped early, and what was streamed is the start of the answer.
    expect(text.length).toBeLessThan(full.length / 2);
    expect(full.startsWith(text)).toBe(true);
  },
};

const killed: Scenario = {
  id: 'sigkill',
  title: 'worker SIGKILL mid-stream: redelivery writes `restart`, then the complete answer',
  async run(t, notes) {
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.stream({ length: 160, tokensPerSecond: 40, tag: 'sigkill' });
    const sid = await start(c, s, 'sigkill');
    await waitFor(() => attemptTokens(c.events(sid)) >= 10, { timeoutMs: 30_000, what: '10 tokens' });
    const replacement = t.replace(await t.writerOf(sid), 'main');
    const events = await c.finished(sid, 60_000);
    await replacement;
    c.close();
    notes.push(...restartNotes(events));
    assertContiguous(events);
    const restarts = events.filter((e) => e.type === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatchObject({ attempt: 2 });
    expect(events.at(-1)!.type).toBe('done');
    // The answer a client keeps (a `rerun` restart discards the lost attempt's text) is complete.
    expect(foldConversation(events).turns[0]!.assistant).toBe(t.driver.streamText(s));
  },
};

const zombie: Scenario = {
  id: 'zombie',
  title: 'a stopped worker (SIGSTOP/SIGCONT) is fenced: one writer per attempt in the log',
  async run(t, notes) {
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.stream({ length: 200, tokensPerSecond: 40, tag: 'zombie' });
    const sid = await start(c, s, 'zombie');
    await waitFor(() => attemptTokens(c.events(sid)) >= 10, { timeoutMs: 30_000, what: '10 tokens' });
    const z = await t.writerOf(sid);
    process.kill(z.pid, 'SIGSTOP');
    try {
      await waitFor(() => c.events(sid).some((e) => e.type === 'restart'), {
        timeoutMs: 30_000,
        what: 'restart by another worker',
      });
      // The new writer gets ahead of where the zombie stopped before the zombie wakes up.
      await waitFor(() => attemptTokens(c.events(sid)) >= 15, {
        timeoutMs: 30_000,
        what: 'new writer ahead',
      });
    } finally {
      process.kill(z.pid, 'SIGCONT');
    }
    const events = await c.finished(sid, 60_000);
    c.close();
    notes.push(...restartNotes(events));
    await waitFor(
      () =>
        z.logs.some(
          (l) => String(l.msg).startsWith('turn stopped without finishing') && l.reason === 'fenced',
        ),
      { timeoutMs: 20_000, what: 'the zombie to report its turn was fenced' },
    );
    assertContiguous(events);
    expect(events.at(-1)!.type).toBe('done');
    expect(foldConversation(events).turns[0]!.assistant).toBe(t.driver.streamText(s));
    // The log: one writer from each restart to the next, the zombie never after the first restart.
    // The user's message (seq 1) is the gateway's write.
    const log = (await readLog(t.fabric.nats.urls, sid)).filter((e) => e.event.type !== 'user_message');
    let writer = log[0]!.writer;
    for (const e of log) {
      if (e.event.type === 'restart') writer = e.writer;
      expect(e.writer).toBe(writer);
    }
    const firstRestart = log.findIndex((e) => e.event.type === 'restart');
    expect(log.slice(firstRestart).some((e) => e.writer === log[0]!.writer)).toBe(false);
    expect(log.map((e) => e.event.seq)).toEqual(log.map((_, i) => i + 2));
    notes.push(`writers in the log: ${[...new Set(log.map((e) => e.writer))].join(' then ')}`);
  },
};

const poison: Scenario = {
  id: 'poison',
  title: 'a job whose worker dies on every delivery: `poison_job` error and a dead letter',
  async run(t, notes) {
    let worker = await t.spawn('poison');
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = {
      ...t.driver.stream({ length: 3000, tokensPerSecond: 20, tag: 'poison' }),
      agent: t.driver.agent('poison'),
    };
    const sid = await start(c, s, 'poison');
    // A delivery handed to a pull request the killed worker left behind never streams: it simply
    // counts towards WORKER_MAX_DELIVER, and the poison verdict then comes one delivery early.
    // What the scenario proves is the verdict, so it waits for either.
    const poisoned = () => c.events(sid).at(-1)?.type === 'error';
    for (let delivery = 1; delivery <= POISON_MAX_DELIVER && !poisoned(); delivery++) {
      await waitFor(
        () => {
          const ev = c.events(sid);
          const streaming =
            ev.filter((e) => e.type === 'restart').length === delivery - 1 && attemptTokens(ev) >= 1;
          return streaming || (delivery > 1 && poisoned());
        },
        { timeoutMs: 30_000, what: `delivery ${delivery} to stream` },
      );
      if (!poisoned()) worker = await t.replace(worker, 'poison');
    }
    const events = await c.finished(sid, 60_000);
    c.close();
    notes.push(...restartNotes(events));
    assertContiguous(events);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'poison_job', retryable: false } });
    const record = await waitFor(
      async () =>
        (await deadLetters(t.nc, subjects.deadLetter(s.agent))).find((m) =>
          Buffer.from(m.data).toString().includes(`"sid":"${sid}"`),
        ),
      { timeoutMs: 10_000, what: 'the dead-letter record' },
    );
    expect(record.header?.get('Sf-Dead-Reason')).toBe('max deliveries exceeded');
  },
};

const human: Scenario = {
  id: 'human',
  title: 'human in the loop: answered on another gateway, across the worker’s death, asked once',
  async run(t, notes) {
    const a = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.human('human');
    const sid = await start(a, s, 'human');
    const req = await waitFor(() => a.events(sid).find((e) => e.type === 'input_request'), {
      timeoutMs: 30_000,
      what: 'input_request',
    });
    await waitFor(async () => (await registryState(t, sid)) === 'waiting_for_input', {
      what: 'waiting_for_input',
    });
    // The worker dies while waiting; the redelivered job must wait on the question in the log.
    // The user answers on another gateway as soon as the new attempt starts: a worker that reruns
    // the turn is then still on its way back to the question (the driver paces that slowly).
    const b = await RawClient.connect(t.fabric.wsUrl(1));
    await t.replace(await t.writerOf(sid), 'human');
    await waitFor(() => a.events(sid).some((e) => e.type === 'restart'), {
      timeoutMs: 30_000,
      intervalMs: 10,
      what: 'restart after redelivery',
    });
    const requestId = req.type === 'input_request' ? req.requestId : '';
    b.send({ type: 'input', id: 'i', sid, requestId, text: 'yes' });
    expect((await b.reply((r) => r.id === 'i')).ok).toBe(true);
    const events = await a.finished(sid, 30_000);
    a.close();
    b.close();
    notes.push(...restartNotes(events));
    // Where the answer landed: after how many of the new attempt's own events (a rerun that had not
    // reached the question yet has to take the gateway's `input` into its log and write on).
    const restartAt = events.findIndex((e) => e.type === 'restart');
    const inputAt = events.findIndex((e) => e.type === 'input');
    notes.push(`the answer landed ${inputAt - restartAt - 1} event(s) after the restart`);
    assertContiguous(events);
    expect(events.filter((e) => e.type === 'input_request')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'input')).toHaveLength(1);
    expect(events.at(-1)!.type).toBe('done');
    const turn = foldConversation(events).turns[0]!;
    expect(turn.inputs.map((i) => i.answer)).toEqual(['yes']);
    expect(finalAnswer(turn)).toBe(t.driver.humanAnswer(s, 'yes'));
    // One worker death, one redelivery: an answer given while the new attempt is still on its way
    // to the question must not cost another attempt (a writer that takes the gateway's `input` as
    // a rival writer is fenced, and its job waits for the next redelivery).
    expect(events.filter((e) => e.type === 'restart').map((e) => e.attempt)).toEqual([2]);
  },
};

/** Runs turn 1 of a driver's follow-up conversation (answering its question) on gateway 0. */
async function followUpFirstTurn(
  t: ConformanceTopology,
  f: ReturnType<WorkerDriver['followUp']>,
  tag: string,
) {
  const a = await RawClient.connect(t.fabric.wsUrl(0));
  const sid = await start(a, f.start, tag);
  const answered = new Set<string>();
  await waitFor(
    () => {
      for (const e of a.events(sid))
        if (e.type === 'input_request' && !answered.has(e.requestId)) {
          answered.add(e.requestId);
          a.send({ type: 'input', id: e.requestId, sid, requestId: e.requestId, text: f.answer });
        }
      return a.events(sid).some(isTerminal);
    },
    { timeoutMs: 30_000, what: 'turn 1 to end' },
  );
  return { a, sid };
}

/** Sends the follow-up from gateway 1, waits for turn 2 to end and checks it was given its history. */
async function followUpSecondTurn(
  t: ConformanceTopology,
  f: ReturnType<WorkerDriver['followUp']>,
  a: RawClient,
  sid: string,
  notes: string[],
  /** The turns the agent was given, when a test changed them (else the log's). */
  given: (turns: ConversationTurn[]) => ConversationTurn[] = (x) => x,
): Promise<SessionEvent[]> {
  const b = await RawClient.connect(t.fabric.wsUrl(1));
  b.send({ type: 'message', id: 'm2', sid, text: f.next });
  expect(await b.reply((r) => r.id === 'm2')).toMatchObject({ ok: true, turn: 2 });
  await waitFor(() => a.events(sid).filter(isTerminal).length >= 2, {
    timeoutMs: 30_000,
    what: 'turn 2 to end',
  });
  const events = a.events(sid);
  a.close();
  b.close();
  assertContiguous(events);
  const turns = foldConversation(events).turns;
  expect(turns.map((x) => [x.user, x.outcome])).toEqual([
    [f.start.input, 'done'],
    [f.next, 'done'],
  ]);
  notes.push(`turn 2: ${finalAnswer(turns[1]!).slice(0, 80)}`);
  for (const check of f.checks(given(turns), events)) expect(check.got, check.what).toEqual(check.want);
  return events;
}

const followUp: Scenario = {
  id: 'follow-up',
  title: 'a follow-up turn (from another gateway) is given its history',
  async run(t, notes) {
    const f = t.driver.followUp('follow-up');
    const { a, sid } = await followUpFirstTurn(t, f, 'follow-up');
    await followUpSecondTurn(t, f, a, sid, notes);
  },
};

/** The session's conversation snapshot (fabric_snapshots), once it covers at least `seq`. */
async function snapshotAt(t: ConformanceTopology, sid: string, seq: number): Promise<ConversationSnapshot> {
  const kv = await new Kvm(t.nc).open(SNAPSHOTS_BUCKET);
  return waitFor(
    async () => {
      const e = await kv.get(snapshotKey('public', sid));
      if (e?.operation !== 'PUT') return null;
      const snap = ConversationSnapshot.parse(e.json());
      return snap.seq >= seq ? snap : null;
    },
    { timeoutMs: 15_000, what: `snapshot of ${sid} at seq ${seq}` },
  );
}

/** JSON form (what a snapshot stores) of a conversation folded from events. */
const asStored = (events: SessionEvent[]) => JSON.parse(JSON.stringify(foldConversation(events)));

const snapshotFollowUp: Scenario = {
  id: 'snapshot-follow-up',
  title: 'writes the shared conversation snapshot after a turn and builds the next turn from it',
  async run(t, notes) {
    const f = t.driver.followUp('snapshot');
    const { a, sid } = await followUpFirstTurn(t, f, 'snapshot');
    const first = a.events(sid);
    // Written by this implementation once the turn ended: the TypeScript fold of the same log.
    const snap = await snapshotAt(t, sid, first.at(-1)!.seq);
    expect(snap).toMatchObject({ v: 1, sid, seq: first.at(-1)!.seq });
    expect(snap.conversation).toEqual(asStored(first));
    // Mark turn 1's answer in the snapshot (its anchor stays valid): turn 2 must be given the
    // marked history (the checks see it: e.g. the built-in agent's prompt size grows), and the
    // snapshot turn 2 leaves must still carry the mark; only a reader that started from the
    // snapshot can have either.
    const kv = await new Kvm(t.nc).open(SNAPSHOTS_BUCKET);
    const mark = ' [from-snapshot]';
    const marked = structuredClone(snap);
    marked.conversation.turns[0]!.assistant += mark;
    await kv.put(snapshotKey('public', sid), JSON.stringify(marked));
    const events = await followUpSecondTurn(t, f, a, sid, notes, (turns) =>
      turns.map((x, i) => (i === 0 ? { ...x, assistant: x.assistant + mark } : x)),
    );
    const after = await snapshotAt(t, sid, events.at(-1)!.seq);
    const want = asStored(events);
    want.turns[0].assistant += mark;
    expect(after.conversation).toEqual(want);
    notes.push(`snapshot seq ${snap.seq} -> ${after.seq}`);
  },
};

const invalidJob: Scenario = {
  id: 'invalid-job',
  title: 'invalid job payloads are dead-lettered, never run; the pool keeps serving',
  async run(t, notes) {
    const agent = t.driver.agent('main');
    const garbage = [
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      '{"v":1,"sid":"s_truncated',
      JSON.stringify({ v: 1, sid: 'not valid!', tenant: 'a', user: 'u', agent, input: '' }),
    ];
    const subject = subjects.deadLetter(agent);
    const before = (await deadLetters(t.nc, subject)).length;
    for (const g of garbage) t.nc.publish(subjects.job(agent), g);
    const dead = await waitFor(
      async () => {
        const all = await deadLetters(t.nc, subject);
        return all.length - before >= garbage.length ? all.slice(before) : null;
      },
      { timeoutMs: 20_000, what: 'garbage jobs dead-lettered' },
    );
    notes.push(`${dead.length} dead letters: ${dead.map((m) => m.header?.get('Sf-Dead-Reason')).join(', ')}`);
    expect(dead.map((m) => m.header?.get('Sf-Dead-Reason'))).toEqual(
      garbage.map(() => 'invalid job payload'),
    );
    expect(dead.map((m) => Buffer.from(m.data).toString('latin1')).sort()).toEqual(
      garbage.map((g) => Buffer.from(g).toString('latin1')).sort(),
    );
    // Still serving: a healthy turn right after.
    const c = await RawClient.connect(t.fabric.wsUrl(0));
    const s = t.driver.stream({ length: 20, tokensPerSecond: 0, tag: 'after-garbage' });
    const events = await c.finished(await start(c, s, 'after-garbage'));
    c.close();
    expect(events.at(-1)!.type).toBe('done');
    expect(tokenText(events)).toBe(t.driver.streamText(s));
  },
};

/** THE scenario list: every implementation runs exactly these, in this order. */
export const SCENARIOS: Scenario[] = [
  streamed,
  cancel,
  killed,
  zombie,
  poison,
  human,
  followUp,
  snapshotFollowUp,
  invalidJob,
];
