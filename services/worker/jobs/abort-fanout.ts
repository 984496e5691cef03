/** Per signal: the callbacks of every running turn, behind ONE listener on the signal. */
const fanouts = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` once when `signal` aborts; returns the unsubscribe. Every running turn waits on the
 * worker's one shutdown signal: Node's `addEventListener` walks all listeners of the signal to
 * refuse duplicates, so 1,000+ turns each adding their own cost a quadratic walk per turn start
 * (2 % of a busy worker's CPU in profiles). A Set adds and removes in O(1).
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    queueMicrotask(fn);
    return () => undefined;
  }
  let set = fanouts.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    fanouts.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...callbacks]) f();
        callbacks.clear();
      },
      { once: true },
    );
  }
  set.add(fn);
  const s = set;
  return () => {
    s.delete(fn);
  };
}
