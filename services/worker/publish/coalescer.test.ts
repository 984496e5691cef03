import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentOutput } from '../agents/agent.js';
import { TokenCoalescer } from './coalescer.js';

type Tok = Extract<AgentOutput, { kind: 'token' }>;

function setup(bufferSize: number, flushIntervalMs: number) {
  const out: Tok[] = [];
  const c = new TokenCoalescer({ bufferSize, flushIntervalMs }, (t) => out.push(t));
  return { c, out };
}

/** mulberry32, so the randomised test is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

// Throttle timing, buffer size, agent boundaries and dispose: coalescer-throttle.test.ts.
describe('coalescer - semantics', () => {
  it('flushIntervalMs 0 emits every token at once', () => {
    const { c, out } = setup(100, 0);
    c.push({ kind: 'token', text: 'a' });
    c.push({ kind: 'token', text: 'b' });
    expect(out.map((t) => t.text)).toEqual(['a', 'b']);
  });

  it('loses, changes and reorders no text across random tokens, agents, sizes and timings', () => {
    const rand = prng(1234);
    const alphabet = ['a', ' ', 'é', '漢', '😀', '\n', '"', '', 'token'];
    for (let round = 0; round < 50; round++) {
      const { c, out } = setup(1 + Math.floor(rand() * 8), Math.floor(rand() * 20));
      const input: Tok[] = [];
      for (let i = 0; i < 200; i++) {
        const text = Array.from(
          { length: Math.floor(rand() * 3) },
          () => alphabet[Math.floor(rand() * alphabet.length)],
        ).join('');
        const tok: Tok = { kind: 'token', text, agent: rand() < 0.1 ? 'B' : 'A', index: i };
        input.push(tok);
        c.push(tok);
        if (rand() < 0.3) vi.advanceTimersByTime(Math.floor(rand() * 15));
      }
      c.flush();
      expect(out.map((t) => t.text).join('')).toBe(input.map((t) => t.text).join(''));
      // Per agent run, the text matches too: no token moved across an agent boundary.
      const runs = (toks: Tok[]) =>
        toks.reduce<{ agent?: string; text: string }[]>((acc, t) => {
          const prev = acc.at(-1);
          if (prev && prev.agent === t.agent) prev.text += t.text;
          else acc.push({ agent: t.agent, text: t.text });
          return acc;
        }, []);
      expect(runs(out)).toEqual(runs(input));
      expect(out.at(-1)!.index).toBe(199);
    }
  });
});
