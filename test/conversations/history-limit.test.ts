import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import {
  estimateTokens,
  foldConversation,
  type SessionEvent,
  trimHistory,
} from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

// A history limit a few turns long: each built-in answer of 30 words is ~50 estimated tokens.
const LIMIT = 150;
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1, workerEnv: { MAX_HISTORY_TOKENS: String(LIMIT) } });
});
afterAll(async () => {
  await fabric?.stop();
});

const terminal = (e: SessionEvent) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled';

describe('MAX_HISTORY_TOKENS', () => {
  it('trims the oldest turns from the model’s view instead of refusing the turn; the log keeps them all', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 's', input: 'q1', options: { seed: 3, length: 30, tokensPerSecond: 0 } });
    const sid = (await c.reply((r) => r.id === 's')).sid!;
    const TURNS = 6;
    for (let n = 1; n <= TURNS; n++) {
      if (n > 1) {
        c.send({ type: 'message', id: `m${n}`, sid, text: `q${n}`, turn: n });
        expect(await c.reply((r) => r.id === `m${n}`)).toMatchObject({ ok: true });
      }
      await waitFor(() => c.events(sid).filter(terminal).length >= n, {
        timeoutMs: 30_000,
        what: `turn ${n}`,
      });
    }
    const events = c.events(sid);
    c.close();
    assertContiguous(events);
    const turns = foldConversation(events).turns;
    expect(turns.map((t) => t.outcome)).toEqual(Array(TURNS).fill('done'));
    const before = turns.slice(0, TURNS - 1);
    expect(estimateTokens(before, `q${TURNS}`)).toBeGreaterThan(LIMIT); // over the limit...
    const given = trimHistory(before, `q${TURNS}`, LIMIT)!;
    expect(given.length).toBeLessThan(before.length); // ...so the oldest turns were dropped
    expect(given.at(-1)).toEqual(before.at(-1));
    // The built-in agent reports the prompt it was given: the trimmed history plus the message.
    const usage = events.filter((e) => e.type === 'usage').at(-1);
    expect(usage?.type === 'usage' && usage.promptTokens).toBe(estimateTokens(given, `q${TURNS}`));
  });
});
