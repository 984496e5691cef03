import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { SESSIONS_BUCKET } from '../../shared/nats/subjects.js';
import { foldConversation, type SessionEvent } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

// Two real gateways and nats-server, no TypeScript worker: the agent is an AutoGen team served by
// the Python bridge (streamfabric_autogen.demo:concierge: a `guide` AssistantAgent on AutoGen's
// ReplayChatCompletionClient, and `customer`, a UserProxyAgent answered by the session's user).
let fabric: TestFabric;
let nc: NatsConnection;
const bridges: BridgeProcess[] = [];
const AGENT = 'autogen-concierge';

function bridge(): Promise<BridgeProcess> {
  // A short ack wait: the job of a killed bridge is redelivered about 1.5 s later.
  const env = { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info', WORKER_ACK_WAIT_MS: '1500' };
  return spawnBridge({ builder: 'streamfabric_autogen.demo:concierge', agent: AGENT, env }).then((b) => {
    bridges.push(b);
    return b;
  });
}

beforeAll(async () => {
  ensurePython();
  fabric = await startFabric({ gateways: 2, workers: 0 });
  nc = await connect({ servers: fabric.nats.urls });
  await bridge();
}, 600_000);
afterAll(async () => {
  await Promise.allSettled(bridges.map((b) => b.kill('SIGKILL')));
  await nc?.close();
  await fabric?.stop();
});

/** The log as `seq type(agent) attempt`, one speaker's consecutive tokens on one line. */
function outline(events: SessionEvent[]): string[] {
  const out: { first: number; last: number; label: string; attempt?: number }[] = [];
  for (const e of events) {
    const label = `${e.type}${'agent' in e && e.agent ? `(${e.agent})` : ''}`;
    const prev = out.at(-1);
    if (e.type === 'token' && prev?.label === label) prev.last = e.seq;
    else out.push({ first: e.seq, last: e.seq, label, ...(e.attempt ? { attempt: e.attempt } : {}) });
  }
  return out.map(
    (o) =>
      `${o.first === o.last ? o.first : `${o.first}-${o.last}`} ${o.label}${o.attempt ? ` a${o.attempt}` : ''}`,
  );
}

const terminals = (events: SessionEvent[]) =>
  events.filter((e) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled').length;

describe('autogen conversation - human in the loop across a killed bridge, then a follow-up turn', () => {
  it('asks once, survives SIGKILL while waiting, takes the answer from another gateway, and remembers it', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'start', id: 's', agent: AGENT, input: 'plan a trip' });
    const sid = (await a.reply((r) => r.id === 's')).sid!;
    const req = await waitFor(() => a.events(sid).find((e) => e.type === 'input_request'), {
      timeoutMs: 30_000,
      what: 'the customer’s input_request',
    });
    expect(req.type === 'input_request' && req.agent).toBe('customer');
    const kv = await new Kvm(nc).open(SESSIONS_BUCKET);
    await waitFor(async () => (await kv.get(sid))?.json<{ state: string }>().state === 'waiting_for_input', {
      what: 'waiting_for_input',
    });

    // The bridge dies while waiting for the user; a new bridge process takes the redelivered job,
    // reruns the turn (`restart`) and, reaching the same question, waits on the request in the log.
    await bridges[0]!.kill('SIGKILL');
    await bridge();
    await waitFor(
      () => {
        const ev = a.events(sid);
        const restart = ev.findIndex((e) => e.type === 'restart');
        return restart >= 0 && ev.slice(restart).some((e) => e.type === 'message' && e.agent === 'guide');
      },
      { timeoutMs: 30_000, what: 'the rerun to reach the question again' },
    );

    const b = await RawClient.connect(fabric.wsUrl(1));
    b.send({
      type: 'input',
      id: 'i',
      sid,
      requestId: req.type === 'input_request' ? req.requestId : '',
      text: 'Lisbon',
    });
    expect((await b.reply((r) => r.id === 'i')).ok).toBe(true);
    const turn1 = await a.finished(sid, 30_000);
    assertContiguous(turn1);
    expect(turn1.filter((e) => e.type === 'input_request')).toHaveLength(1);
    expect(turn1.at(-1)?.type).toBe('done');
    const said = turn1.flatMap((e) => (e.type === 'message' ? [[e.agent, e.role, e.text]] : []));
    // The interrupted attempt's guide message, then the rerun's: the client drops the first on `restart`.
    expect(said.slice(-3)).toEqual([
      ['guide', 'assistant', 'Where would you like to go?'],
      ['customer', 'user', 'Lisbon'],
      ['guide', 'assistant', 'Noted. So far: user: plan a trip; customer: Lisbon. TERMINATE'],
    ]);
    expect(foldConversation(turn1).turns[0]!.inputs[0]!.answer).toBe('Lisbon');

    // Turn 2 from the other gateway: the guide's model is given the history rebuilt from the log.
    b.send({ type: 'message', id: 'm2', sid, text: 'what did I book?' });
    const m2 = await b.reply((r) => r.id === 'm2');
    expect(m2.ok).toBe(true);
    expect(m2.turn).toBe(2);
    await waitFor(() => terminals(a.events(sid)) >= 2, { timeoutMs: 30_000, what: 'turn 2 to end' });
    const events = a.events(sid);
    assertContiguous(events);
    const conv = foldConversation(events);
    expect(conv.turns.map((t) => [t.user, t.outcome])).toEqual([
      ['plan a trip', 'done'],
      ['what did I book?', 'done'],
    ]);
    expect(conv.turns[1]!.inputs).toHaveLength(0);
    expect(conv.turns[1]!.messages).toEqual([
      {
        agent: 'guide',
        text: 'Noted. So far: user: plan a trip; customer: Lisbon; user: what did I book?. TERMINATE',
        role: 'assistant',
      },
    ]);
    // Only the killed attempt was restarted: neither fresh turn starts with a spurious `restart`.
    expect(events.filter((e) => e.type === 'restart').map((e) => e.seq)).toHaveLength(1);
    console.log(`autogen conversation log (${sid}):\n  ${outline(events).join('\n  ')}`);
    a.close();
    b.close();
  }, 120_000);
});
