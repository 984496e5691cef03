import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../client/src/index.js';
import { type BridgeProcess, ensurePython, spawnBridge } from '../../scripts/topology/bridge-process.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

// The bridge's demo agents exactly as `npm start` runs them (AGENT-POOLS.md): AG2 classic and
// Agent Framework, their own OpenAI clients pointed at the gateway's OpenAI-compatible endpoint
// with the built-in model (a TypeScript worker serves it). No API key, no other server.
let fabric: TestFabric;
const bridges: BridgeProcess[] = [];

beforeAll(async () => {
  ensurePython();
  fabric = await startFabric({ gateways: 1, workers: 1 });
  const env = {
    NATS_URL: fabric.nats.urls,
    STREAM_LOG_LEVEL: 'info',
    STREAMFABRIC_DEMO_OPENAI_BASE_URL: `${fabric.httpUrl(0)}/v1`,
  };
  bridges.push(
    ...(await Promise.all([
      spawnBridge({
        builder: 'streamfabric_autogen.demos.ag2_pair:build',
        agent: 'ag2-pair',
        env,
        timeoutMs: 120_000,
      }),
      spawnBridge({
        builder: 'streamfabric_autogen.demos.agent_framework_agent:build',
        agent: 'agent-framework',
        env,
        timeoutMs: 120_000,
      }),
    ])),
  );
}, 600_000);
afterAll(async () => {
  await Promise.allSettled(bridges.map((b) => b.kill('SIGKILL')));
  await fabric?.stop();
});

async function turn(agent: string, input: string): Promise<SessionEvent[]> {
  const c = await RawClient.connect(fabric.wsUrl(0));
  c.send({ type: 'start', id: 's', agent, input });
  const sid = (await c.reply((r) => r.id === 's')).sid!;
  const events = await c.finished(sid, 60_000);
  c.close();
  assertContiguous(events);
  return events;
}

describe('demo agents - AG2 and Agent Framework on the gateway’s own /v1 with the built-in model', () => {
  for (const [agent, speaker] of [
    ['ag2-pair', 'assistant'],
    ['agent-framework', 'weather'],
  ] as const) {
    it(`${agent} streams the built-in model’s answer as ${speaker}’s tokens and message`, async () => {
      const events = await turn(agent, 'hello from the demo test');
      expect(events.at(-1)?.type).toBe('done');
      const tokens = events.filter((e) => e.type === 'token');
      expect(tokens.length).toBeGreaterThan(0);
      expect(new Set(tokens.map((e) => (e.type === 'token' ? e.agent : '')))).toEqual(new Set([speaker]));
      const message = events.find((e) => e.type === 'message');
      const text = tokens.map((e) => (e.type === 'token' ? e.text : '')).join('');
      expect(message?.type === 'message' && [message.agent, message.text]).toEqual([speaker, text]);
      expect(text.length).toBeGreaterThan(0);
    });
  }
});
