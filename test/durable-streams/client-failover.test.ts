import { DurableStream, stream } from '@durable-streams/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ServiceProcess } from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// The official client reads a stream through a gateway that is SIGKILLed mid-read. Its fetch goes
// through a stand-in for a load balancer (the first live gateway takes the request); the client's
// own retry then lands on another gateway, resumes from its offset, and must see every message
// exactly once, in order. The producer writes through a different gateway all along.
const MESSAGES = 60;

describe('durable streams - @durable-streams/client across a gateway kill', () => {
  let fabric: TestFabric;
  let writer: ServiceProcess;
  beforeAll(async () => {
    fabric = await startFabric({ gateways: 1, workers: 0 });
    writer = fabric.gateways[0]!;
  });
  afterAll(async () => {
    await fabric?.stop();
  });

  for (const live of ['long-poll', 'sse'] as const) {
    test(`${live}: every message exactly once after the reader's gateway dies`, async () => {
      const victim = await fabric.addGateway();
      // The "load balancer": live gateways, the victim first; a dead one is taken out of rotation.
      const alive = [victim, writer];
      const lbFetch: typeof fetch = (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        url.port = String(alive[0]!.port);
        return fetch(url, init);
      };
      const path = `/v1/stream/failover-${live}-${Date.now()}`;
      const producer = await DurableStream.create({
        url: `http://127.0.0.1:${writer.port}${path}`,
        contentType: 'application/json',
      });
      const received: number[] = [];
      const stops: (() => void)[] = [];
      // Long-poll: the client's own retry moves to the next gateway. SSE: client 0.2.7 reconnects
      // after a clean end but not after an abrupt drop (`closed` rejects with "terminated"), so the
      // reader resumes from the last offset it holds, as the protocol intends.
      const follow = async (offset: string): Promise<void> => {
        const res = await stream<{ i: number }>({
          url: `http://127.0.0.1:${victim.port}${path}`,
          offset,
          live,
          json: true,
          fetch: lbFetch,
          backoffOptions: { initialDelay: 50, maxDelay: 500, multiplier: 1.5 },
        });
        let last = offset;
        stops.push(
          res.subscribeJson(async (batch) => {
            for (const item of batch.items) received.push(item.i);
            last = batch.offset;
          }),
        );
        res.closed.catch(() => follow(last));
      };
      await follow('-1');
      let next = 0;
      const write = async (until: number) => {
        for (; next < until; next++) await producer.append(JSON.stringify({ i: next }));
      };
      await write(MESSAGES / 2);
      await waitFor(() => received.length >= MESSAGES / 4, { what: 'the first messages', timeoutMs: 15_000 });
      const readsBefore = await readsServed(writer);
      await victim.kill('SIGKILL');
      alive.shift();
      await write(MESSAGES);
      await waitFor(() => received.includes(MESSAGES - 1), { what: 'the last message', timeoutMs: 20_000 });
      for (const stop of stops) stop();
      expect(received).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
      // The reads after the kill were served by the surviving gateway.
      expect(await readsServed(writer)).toBeGreaterThan(readsBefore);
    });
  }
});

/** GET requests a gateway has answered on Durable Streams, from its Prometheus metrics. */
async function readsServed(g: ServiceProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^streamfabric_gateway_ds_requests_total\{method="get"[^}]*\} (\d+)$/gm))
    n += Number(m[1]);
  return n;
}
