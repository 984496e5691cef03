import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type SessionEvent, StreamFabricClient } from '../../client/src/index.js';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';

// A real gateway and nats-server (no TypeScript worker): the sessions' agents are served only by
// AutoGen bridges running as Python processes, driven by AutoGen's ReplayChatCompletionClient.
let fabric: TestFabric;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  ensurePython();
  fabric = await startFabric({ gateways: 1, workers: 0 });
  const env = { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info' };
  bridges.push(
    ...(await Promise.all([
      spawnBridge({ builder: 'streamfabric_autogen.demo:team', agent: 'autogen-team', env }),
      spawnBridge({ builder: 'streamfabric_autogen.demo:assistant', agent: 'autogen-assistant', env }),
    ])),
  );
}, 600_000);
afterAll(async () => {
  await Promise.allSettled(bridges.map((b) => b.kill('SIGKILL')));
  await fabric?.stop();
});

/** Splits a turn into agent messages: the tokens before each `message` event, and the message. */
function speeches(
  events: SessionEvent[],
): { agent: string; tokens: string; tokenAgents: string[]; text: string }[] {
  const out: { agent: string; tokens: string; tokenAgents: string[]; text: string }[] = [];
  let tokens = '';
  let agents = new Set<string>();
  for (const e of events) {
    if (e.type === 'token') {
      tokens += e.text;
      agents.add(e.agent ?? '(none)');
    } else if (e.type === 'message') {
      out.push({ agent: e.agent, tokens, tokenAgents: [...agents], text: e.text });
      tokens = '';
      agents = new Set();
    }
  }
  return out;
}

describe('autogen bridge - a TypeScript client on a gateway', () => {
  it('receives a two-agent team’s tokens and messages with agent names, in order, contiguous', async () => {
    const client = new StreamFabricClient({ url: fabric.wsUrl(0), WebSocket: WebSocket as never });
    const session = await client.start({
      agent: 'autogen-team',
      input: 'plan a trip',
      options: { length: 40 },
    });
    const events: SessionEvent[] = [];
    for await (const ev of session) events.push(ev);
    assertContiguous(events);
    // The gateway's user_message opens the turn, and a fresh turn is not mistaken for an
    // interrupted one: no `restart`, every bridge event of attempt 1.
    expect(events[0]?.type).toBe('user_message');
    expect(events.filter((e) => e.type === 'restart')).toEqual([]);
    expect(new Set(events.slice(1).map((e) => e.attempt))).toEqual(new Set([1]));
    const turns = speeches(events);
    expect(turns.map((t) => t.agent)).toEqual(['writer', 'critic', 'writer', 'critic']);
    for (const t of turns) {
      // Every token before a message is that agent's, and the tokens spell the message exactly.
      expect(t.tokenAgents).toEqual([t.agent]);
      expect(t.tokens).toBe(t.text);
      expect(t.text.split(' ')).toHaveLength(40);
    }
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    expect(done.type === 'done' && done.finishReason).toMatch(/Maximum number of messages 5 reached/);
    expect(done.type === 'done' && done.tokens).toBe(160);
    expect(events.some((e) => e.type === 'usage')).toBe(true);
    expect(await session.text()).toBe(turns.map((t) => t.text).join(''));
    client.close();
  });

  it('a client that resumes on the gateway gets the bridge’s events after its position exactly once', async () => {
    const a = await RawClient.connect(fabric.wsUrl(0));
    a.send({ type: 'start', id: 'r1', agent: 'autogen-assistant', input: 'hello', options: { length: 30 } });
    const sid = (await a.reply((r) => r.id === 'r1')).sid!;
    const all = await a.finished(sid);
    a.close();
    assertContiguous(all);
    expect(all.map((e) => e.type).filter((t) => t === 'user_message' || t === 'restart')).toEqual([
      'user_message',
    ]);
    const b = await RawClient.connect(fabric.wsUrl(0));
    b.send({ type: 'resume', id: 'r2', sid, after: 2 });
    expect((await b.reply((r) => r.id === 'r2')).ok).toBe(true);
    const rest = await b.finished(sid);
    assertContiguous(rest, 2);
    expect(rest).toEqual(all.slice(2));
    expect(tokenText(all).split(' ')).toHaveLength(30);
    b.close();
  });

  // Cancel mid-stream: the conformance suite's `cancel` scenario (test/conformance/scenarios.ts).
});
