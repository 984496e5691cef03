import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText, builtinTokens } from '../../services/worker/agents/builtin-model.js';
import type { TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';

/**
 * The vertical slice: start to done, many sessions, resume, bad frames. Run by vertical-slice.test.ts on a single node and by
 * test/durability/partitions.test.ts at NATS_PARTITIONS=3 on a 3-node R3 cluster.
 */
export function verticalSliceSuite(getFabric: () => TestFabric): void {
  const fabric = {
    wsUrl: (i?: number) => getFabric().wsUrl(i),
    httpUrl: (i?: number) => getFabric().httpUrl(i),
  };
  describe('vertical slice - start to done', () => {
    it('streams tokens 1..n contiguous with the text the built-in model produces for the seed', async () => {
      const c = await RawClient.connect(fabric.wsUrl(0));
      c.send({ type: 'start', id: 1, input: 'hello', options: { seed: 42, length: 60, tokensPerSecond: 0 } });
      const reply = await c.reply((r) => r.id === 1);
      expect(reply.ok).toBe(true);
      const events = await c.finished(reply.sid!);
      assertContiguous(events);
      expect(tokenText(events)).toBe(builtinText(42, 60));
      const done = events.at(-1)!;
      expect(done.type).toBe('done');
      expect(done.type === 'done' && done.tokens).toBe(60);
      expect(events.some((e) => e.type === 'usage')).toBe(true);
      c.close();
    });

    it('the client library yields events as an async iterator and resolves text()', async () => {
      const client = new StreamFabricClient({ url: fabric.wsUrl(1), WebSocket: WebSocket as never });
      const session = await client.start({
        input: 'x',
        options: { seed: 5, length: 30, tokensPerSecond: 500 },
      });
      const types: string[] = [];
      for await (const ev of session) types.push(ev.type);
      expect(types.at(-1)).toBe('done');
      expect(await session.text()).toBe(builtinText(5, 30));
      client.close();
    });

    it('holds 100 concurrent sessions on one gateway, each contiguous and complete', async () => {
      const c = await RawClient.connect(fabric.wsUrl(0));
      for (let i = 0; i < 100; i++) {
        c.send({
          type: 'start',
          id: `m${i}`,
          input: `q${i}`,
          options: { seed: 1000 + i, length: 40, tokensPerSecond: 100 },
        });
      }
      const replies = await waitFor(
        () => {
          const r = c.replies().filter((x) => String(x.id).startsWith('m'));
          return r.length === 100 ? r : null;
        },
        { timeoutMs: 30_000, what: '100 start replies' },
      );
      expect(replies.every((r) => r.ok)).toBe(true);
      for (const r of replies) {
        const i = Number(String(r.id).slice(1));
        const events = await c.finished(r.sid!, 60_000);
        assertContiguous(events);
        expect(tokenText(events)).toBe(builtinText(1000 + i, 40));
      }
      c.close();
    });
  });

  describe('vertical slice - cancel', () => {
    it('stops generation within a few in-flight events and ends with cancelled', async () => {
      const c = await RawClient.connect(fabric.wsUrl(0));
      c.send({
        type: 'start',
        id: 'c1',
        input: 'long',
        options: { seed: 9, length: 5000, tokensPerSecond: 100, flushIntervalMs: 0 },
      });
      const reply = await c.reply((r) => r.id === 'c1');
      await waitFor(() => c.events(reply.sid!).length >= 5, { what: 'a few tokens' });
      const seenAtCancel = c.events(reply.sid!).length;
      c.send({ type: 'cancel', id: 'c2', sid: reply.sid! });
      expect((await c.reply((r) => r.id === 'c2')).ok).toBe(true);
      const events = await c.finished(reply.sid!);
      assertContiguous(events);
      expect(events.at(-1)!.type).toBe('cancelled');
      // At 100 tokens/s, only what was in flight while the cancel travelled may follow it.
      expect(events.length - seenAtCancel).toBeLessThan(30);
      // Whatever text was produced is a prefix of the model's answer: nothing lost or garbled.
      expect(builtinTokens(9, 5000).join('').startsWith(tokenText(events))).toBe(true);
      c.close();
    });
  });

  describe('vertical slice - resume on another gateway', () => {
    it('a client that drops mid-stream and reconnects to a second gateway gets every missed event exactly once', async () => {
      const a = await RawClient.connect(fabric.wsUrl(0));
      a.send({
        type: 'start',
        id: 'r1',
        input: 'resume me',
        options: { seed: 77, length: 200, tokensPerSecond: 200, flushIntervalMs: 0 },
      });
      const sid = (await a.reply((r) => r.id === 'r1')).sid!;
      await waitFor(() => a.events(sid).length >= 10, { what: 'first events' });
      a.terminate();
      const held = a.events(sid);
      assertContiguous(held);
      const last = held.at(-1)!.seq;
      const b = await RawClient.connect(fabric.wsUrl(1));
      b.send({ type: 'resume', id: 'r2', sid, after: last });
      expect((await b.reply((r) => r.id === 'r2')).ok).toBe(true);
      const rest = await b.finished(sid);
      assertContiguous(rest, last);
      expect(tokenText([...held, ...rest])).toBe(builtinText(77, 200));
      b.close();
    });

    it('the client library reconnects by itself and resumes with no gap and no duplicate', async () => {
      const client = new StreamFabricClient({
        url: [fabric.wsUrl(0), fabric.wsUrl(1)],
        WebSocket: WebSocket as never,
        backoff: { baseMs: 50, maxMs: 200 },
      });
      const session = await client.start({
        input: 'y',
        options: { seed: 3, length: 150, tokensPerSecond: 150 },
      });
      const seqs: number[] = [];
      session.on('*', (e) => seqs.push(e.seq));
      await waitFor(() => seqs.length >= 3, { what: 'first events' });
      client.dropConnection();
      expect(await session.text()).toBe(builtinText(3, 150));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      client.close();
    });
  });

  describe('vertical slice - bad input', () => {
    it('answers malformed, unknown and invalid frames with typed errors and keeps the connection and other sessions working', async () => {
      const c = await RawClient.connect(fabric.wsUrl(0));
      c.send({
        type: 'start',
        id: 'ok1',
        input: 'survivor',
        options: { seed: 11, length: 80, tokensPerSecond: 200 },
      });
      const sid = (await c.reply((r) => r.id === 'ok1')).sid!;
      c.sendRaw('{not json');
      c.sendRaw(Buffer.from([0xff, 0xfe, 0x00]), true);
      c.sendRaw('[1,2,3]');
      c.send({ type: 'teleport', id: 'u1' });
      c.send({ type: 'start', id: 'v1', input: 42 });
      c.send({ type: 'resume', id: 'v2', sid: 'bad id with spaces', after: 0 });
      c.send({ type: 'resume', id: 'v3', sid: 'nosuchsession', after: 3 });
      await waitFor(() => c.replies().filter((r) => !r.ok).length >= 7, { what: 'seven error replies' });
      const errors = c
        .replies()
        .filter((r) => !r.ok)
        .map((r) => r.error!.code);
      expect(errors.filter((e) => e === 'bad_frame').length).toBe(3);
      expect(errors).toContain('unknown_type');
      expect(errors.filter((e) => e === 'invalid_argument').length).toBe(2);
      expect(errors).toContain('expired');
      c.send({ type: 'ping', id: 'p1' });
      await waitFor(() => c.frames.some((f) => f.type === 'pong' && f.id === 'p1'), { what: 'pong' });
      const events = await c.finished(sid);
      assertContiguous(events);
      expect(tokenText(events)).toBe(builtinText(11, 80));
      c.close();
    });

    it('closes an oversized frame with 1009 without harming other connections', async () => {
      const victim = await RawClient.connect(fabric.wsUrl(0));
      const bystander = await RawClient.connect(fabric.wsUrl(0));
      bystander.send({
        type: 'start',
        id: 'b1',
        input: 'bystander',
        options: { seed: 12, length: 50, tokensPerSecond: 200 },
      });
      const sid = (await bystander.reply((r) => r.id === 'b1')).sid!;
      victim.sendRaw(JSON.stringify({ type: 'start', input: 'x'.repeat(400 * 1024) }));
      await waitFor(() => victim.closeInfo.code !== undefined, { what: 'victim closed' });
      expect(victim.closeInfo.code).toBe(1009);
      const events = await bystander.finished(sid);
      expect(tokenText(events)).toBe(builtinText(12, 50));
      bystander.close();
    });
  });
}
