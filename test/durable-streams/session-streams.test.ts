import { stream } from '@durable-streams/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { sessionOffset } from '../../services/gateway/http/durable-streams/ds-sessions.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import type { SessionEvent } from '../../shared/protocol/index.js';
import { startSession } from '../durability/helpers.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';

// The fabric's sessions as read-only Durable Streams, read by the official client: JSON mode,
// one message per event, offsets that map to seq, on any gateway.
const TERMINAL = new Set(['done', 'error', 'cancelled']);

describe('durable streams - sessions as read-only streams', () => {
  let fabric: TestFabric;
  let sid: string;
  beforeAll(async () => {
    fabric = await startFabric({ gateways: 2, workers: 1 });
    const c = await RawClient.connect(fabric.wsUrl(0));
    sid = await startSession(c, 'ds', { seed: 7, length: 120, tokensPerSecond: 60, flushIntervalMs: 0 });
    c.close();
  });
  afterAll(async () => {
    await fabric?.stop();
  });
  const url = (g: number) => `${fabric.httpUrl(g)}/v1/ds/sessions/${sid}`;

  for (const live of ['long-poll', 'sse'] as const) {
    test(`${live}: the whole turn, live, from gateway ${live === 'sse' ? 1 : 0}, offsets = seq`, async () => {
      const events: SessionEvent[] = [];
      const offsets: string[] = [];
      const res = await stream<SessionEvent>({
        url: url(live === 'sse' ? 1 : 0),
        offset: '-1',
        live,
        json: true,
      });
      const stop = res.subscribeJson(async (batch) => {
        events.push(...batch.items);
        if (batch.items.length > 0) offsets.push(batch.offset);
      });
      await waitFor(() => events.some((e) => TERMINAL.has(e.type)), {
        what: 'the terminal event',
        timeoutMs: 30_000,
      });
      stop();
      assertContiguous(events);
      expect(tokenText(events)).toBe(builtinText(7, 120));
      // Each batch's offset names the seq of its last event.
      expect(offsets.at(-1)).toBe(sessionOffset(events.at(-1)!.seq));
    });
  }

  test('catch-up from a mid offset on the other gateway: exactly the events after it', async () => {
    const all = await (
      await stream<SessionEvent>({ url: url(0), offset: '-1', live: false, json: true })
    ).json();
    const k = Math.floor(all.length / 2);
    const rest = await (
      await stream<SessionEvent>({ url: url(1), offset: sessionOffset(k), live: false, json: true })
    ).json();
    assertContiguous(rest, k);
    expect(rest.at(-1)!.seq).toBe(all.at(-1)!.seq);
  });

  test('read-only: writes are refused with 405, a bad offset with 400, an unknown session with 404', async () => {
    const post = await fetch(url(0), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(post.status).toBe(405);
    expect(post.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${url(0)}?offset=../../etc`)).status).toBe(400);
    const missing = await fetch(`${fabric.httpUrl(0)}/v1/ds/sessions/s_missing_0000`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'not_found', retryable: false } });
  });
});
