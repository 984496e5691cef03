import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText, builtinTokens } from '../../services/worker/agents/builtin-model.js';
import type { TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { startSession } from './helpers.js';

/**
 * Resume on any gateway, exactly once, with and without position hints. Run by resume.test.ts on a single node and by
 * test/durability/partitions.test.ts at NATS_PARTITIONS=3 on a 3-node R3 cluster.
 */
export function resumeSuite(getFabric: () => TestFabric): void {
  const fabric = {
    wsUrl: (i?: number) => getFabric().wsUrl(i),
    httpUrl: (i?: number) => getFabric().httpUrl(i),
  };
  describe('resume - on any gateway', () => {
    it('a client holding seq k resumes on another gateway: k+1.. exactly once, then live events, to done', async () => {
      const a = await RawClient.connect(fabric.wsUrl(0));
      const sid = await startSession(a, 'r1', {
        seed: 101,
        length: 160,
        tokensPerSecond: 50,
        flushIntervalMs: 0,
      });
      await waitFor(() => a.events(sid).length >= 20, { timeoutMs: 20_000, what: '20 events' });
      a.terminate();
      const held = a.events(sid);
      assertContiguous(held);
      const k = held.at(-1)!.seq;

      const b = await RawClient.connect(fabric.wsUrl(1));
      b.send({ type: 'resume', id: 'r2', sid, after: k });
      const reply = await b.reply((r) => r.id === 'r2');
      expect(reply.ok).toBe(true);
      const rest = await b.finished(sid);
      // Exactly once: contiguous from k+1 (a duplicate or a gap would break it).
      assertContiguous(rest, k);
      expect(tokenText([...held, ...rest])).toBe(builtinText(101, 160));
      // The stream was still running at resume time: the tail arrived live, after the replay.
      expect(rest.at(-1)!.seq).toBeGreaterThan(reply.lastSeq!);
      b.close();
    });

    it('resuming a finished session replays exactly to done, from any position, on every gateway', async () => {
      const a = await RawClient.connect(fabric.wsUrl(0));
      const sid = await startSession(a, 'f1', {
        seed: 202,
        length: 80,
        tokensPerSecond: 0,
        flushIntervalMs: 0,
      });
      const all = await a.finished(sid);
      a.close();
      const last = all.at(-1)!.seq;
      for (const gw of [0, 1]) {
        for (const k of [0, 37, last - 1]) {
          const c = await RawClient.connect(fabric.wsUrl(gw));
          c.send({ type: 'resume', id: 'x', sid, after: k });
          expect((await c.reply((r) => r.id === 'x')).lastSeq).toBe(last);
          const rest = await c.finished(sid);
          assertContiguous(rest, k);
          expect(rest.at(-1)!.type).toBe('done');
          expect(rest.map((e) => e.seq)).toEqual(all.slice(k).map((e) => e.seq));
          c.close();
        }
      }
      expect(tokenText(all)).toBe(builtinText(202, 80));
    });

    it("every event carries its predecessor's log position; a resume with that hint, or a wrong one, gets exactly the rest", async () => {
      const a = await RawClient.connect(fabric.wsUrl(0));
      const sid = await startSession(a, 'h1', {
        seed: 404,
        length: 90,
        tokensPerSecond: 0,
        flushIntervalMs: 0,
      });
      const all = await a.finished(sid);
      a.close();
      // prevPos chains the log: 0 for the first event, then strictly increasing stream positions.
      const pos = all.map((e) => e.prevPos);
      expect(pos[0]).toBe(0);
      for (let i = 1; i < pos.length; i++) expect(pos[i]!).toBeGreaterThan(pos[i - 1]!);
      const k = 40;
      const honest = all[k - 1]!.prevPos!;
      // Honest hint, hints past the events needed or past the end of the stream, and 0: each must
      // give events k+1.. exactly (a wrong hint costs a read from the start, never an event).
      for (const hint of [honest, all[k + 5]!.prevPos!, 10_000_000, 0]) {
        const c = await RawClient.connect(fabric.wsUrl(1));
        c.send({ type: 'resume', id: 'h', sid, after: k, pos: hint });
        expect((await c.reply((r) => r.id === 'h')).ok).toBe(true);
        const rest = await c.finished(sid);
        assertContiguous(rest, k);
        expect({ hint, seqs: rest.map((e) => e.seq) }).toEqual({
          hint,
          seqs: all.slice(k).map((e) => e.seq),
        });
        c.close();
      }
    });

    it('the client library resumes a session by id on another gateway and gets the rest of the text', async () => {
      const a = await RawClient.connect(fabric.wsUrl(0));
      const sid = await startSession(a, 'l1', {
        seed: 303,
        length: 120,
        tokensPerSecond: 60,
        flushIntervalMs: 0,
      });
      await waitFor(() => a.events(sid).length >= 10, { timeoutMs: 20_000, what: '10 events' });
      a.terminate();
      const held = a.events(sid);
      const k = held.at(-1)!.seq;
      const client = new StreamFabricClient({ url: fabric.wsUrl(1), WebSocket: WebSocket as never });
      const session = await client.resume(sid, k);
      const seqs: number[] = [];
      session.on('*', (e) => seqs.push(e.seq));
      const rest = await session.text();
      expect(seqs).toEqual(seqs.map((_, i) => k + 1 + i));
      expect(tokenText(held) + rest).toBe(builtinTokens(303, 120).join(''));
      client.close();
    });
  });
}
