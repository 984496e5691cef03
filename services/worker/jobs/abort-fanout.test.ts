import { describe, expect, it } from 'vitest';
import { onAbort } from './abort-fanout.js';

describe('onAbort - one listener on a shared signal for every turn', () => {
  it('calls every subscribed callback once on abort, never an unsubscribed one', () => {
    const c = new AbortController();
    const calls: number[] = [];
    const offs = Array.from({ length: 1000 }, (_, i) => onAbort(c.signal, () => calls.push(i)));
    offs[3]!();
    c.abort();
    c.abort();
    expect(calls.length).toBe(999);
    expect(calls).not.toContain(3);
  });
  it('calls back (asynchronously) when the signal is already aborted', async () => {
    const c = new AbortController();
    c.abort();
    let called = false;
    onAbort(c.signal, () => {
      called = true;
    });
    expect(called).toBe(false);
    await Promise.resolve();
    expect(called).toBe(true);
  });
});
