import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../scripts/topology/wait.js';
import type { AgentOutput } from '../agents/agent.js';
import { TickWheel } from '../timing/tick-wheel.js';
import { TokenCoalescer } from './coalescer.js';

type TokenOut = Extract<AgentOutput, { kind: 'token' }>;
const tok = (text: string, index: number, extra: Partial<TokenOut> = {}): TokenOut => ({
  kind: 'token',
  text,
  index,
  ...extra,
});

function setup(bufferSize: number, flushIntervalMs: number) {
  const out: TokenOut[] = [];
  const c = new TokenCoalescer({ bufferSize, flushIntervalMs }, (o) => out.push(o), new TickWheel(5));
  return { c, out };
}

describe('coalescer - throttle with a leading edge', () => {
  it('emits the first token at once, then the rest of the interval together', async () => {
    const { c, out } = setup(32, 50);
    c.push(tok('a', 0));
    expect(out).toEqual([{ kind: 'token', text: 'a', index: 0 }]);
    c.push(tok(' b', 1));
    c.push(tok(' c', 2));
    expect(out).toHaveLength(1);
    await waitFor(() => out.length === 2, { timeoutMs: 5_000, intervalMs: 5, what: 'trailing flush' });
    expect(out[1]).toEqual({ kind: 'token', text: ' b c', index: 2, count: 2 });
  });

  it('flushes when bufferSize model tokens wait, counting multi-token outputs', () => {
    const { c, out } = setup(4, 10_000);
    c.push(tok('x', 0));
    c.push(tok('yz', 2, { count: 2 }));
    expect(out).toHaveLength(1);
    c.push(tok('w', 3));
    c.push(tok('v', 4));
    expect(out.map((o) => o.text)).toEqual(['x', 'yzwv']);
    expect(out[1]!.count).toBe(4);
    c.dispose();
  });

  it('never merges tokens of different agents, and interval 0 emits every token', () => {
    const a = setup(32, 10_000);
    a.c.push(tok('1', 0, { agent: 'alice' }));
    a.c.push(tok('2', 1, { agent: 'alice' }));
    a.c.push(tok('3', 2, { agent: 'bob' }));
    a.c.flush();
    expect(a.out.map((o) => `${o.agent}:${o.text}`)).toEqual(['alice:1', 'alice:2', 'bob:3']);
    const z = setup(32, 0);
    z.c.push(tok('p', 0));
    z.c.push(tok('q', 1));
    expect(z.out.map((o) => o.text)).toEqual(['p', 'q']);
  });

  it('dispose drops the buffer and its pending flush', async () => {
    const { c, out } = setup(32, 20);
    c.push(tok('a', 0));
    c.push(tok('b', 1));
    c.dispose();
    const wheel = new TickWheel(5);
    await wheel.sleep(60);
    expect(out.map((o) => o.text)).toEqual(['a']);
  });

  it('adaptive: holds a due flush while the previous event is being written, never past maxHoldMs', async () => {
    const out: TokenOut[] = [];
    let busy = true;
    const c = new TokenCoalescer(
      { bufferSize: 32, flushIntervalMs: 30, maxHoldMs: 60 },
      (o) => out.push(o),
      new TickWheel(5),
      () => busy,
    );
    c.push(tok('a', 0)); // leading edge: out at once (nothing waits on an idle session)
    expect(out).toHaveLength(1);
    const t0 = performance.now();
    c.push(tok(' b', 1));
    await waitFor(() => out.length === 2, { timeoutMs: 5_000, intervalMs: 5, what: 'held flush' });
    // Held while busy, but not longer than interval + maxHoldMs (plus wheel ticks).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30 + 60 - 5);
    busy = false;
    c.push(tok(' c', 2));
    await waitFor(() => out.length === 3, { timeoutMs: 5_000, intervalMs: 5, what: 'unheld flush' });
    expect(out.map((o) => o.text).join('')).toBe('a b c');
  });
});
