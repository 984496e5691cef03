import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinAnswerText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 2, workers: 1 });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('client sdk - conversations', () => {
  it('exposes turns, agent names and the pending question; answers it and sends follow-ups', async () => {
    const client = new StreamFabricClient({
      url: [fabric.wsUrl(0), fabric.wsUrl(1)],
      WebSocket: WebSocket as never,
      backoff: { baseMs: 50, maxMs: 200 },
    });
    const opts = {
      seed: 70,
      length: 24,
      tokensPerSecond: 300,
      team: ['planner', 'writer'],
      askUser: { prompt: 'Formal or casual?', options: ['formal', 'casual'] },
    };
    const session = await client.start({ input: 'Write a greeting', options: opts });
    const q = await waitFor(() => session.pendingInput, { what: 'the agent question' });
    expect(q.prompt).toBe('Formal or casual?');
    expect(q.options).toEqual(['formal', 'casual']);
    session.answer(q.requestId, 'casual');
    const first = await session.text();
    expect(first).toBe(builtinAnswerText('casual', 70, 24));
    const t1 = session.turns[0]!;
    expect(t1.user).toBe('Write a greeting');
    expect(t1.messages.map((m) => m.agent)).toEqual(['planner', 'writer']);
    expect(t1.messages.map((m) => m.text).join(' ')).toBe(first.replace(/\s+/g, ' ').trim());
    expect(t1.inputs[0]!.answer).toBe('casual');

    // Follow-up turns: answer the (carried-over) question whenever it comes; drop the link midway.
    session.on('input_request', (ev) => session.answer(ev.requestId, 'formal'));
    const second = session.send('Now shorter');
    await waitFor(() => session.turns.length === 2, { what: 'turn 2 to start' });
    client.dropConnection();
    expect(await second).toBe(builtinAnswerText('formal', 71, 24));
    expect(session.turns.map((t) => t.user)).toEqual(['Write a greeting', 'Now shorter']);
    const seqs = session.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // A follow-up while a turn runs is refused with a typed error.
    const third = session.send('Third');
    const tooEarly = session.send('Too early');
    await expect(tooEarly).rejects.toMatchObject({ code: 'busy' });
    await third;
    client.close();
  });
});
