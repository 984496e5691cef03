/**
 * Full-jitter exponential backoff: a random delay in [0, min(cap, base * 2^attempt)].
 * Spreads a reconnect storm over time instead of synchronising it.
 * @example backoffDelay(3, { baseMs: 250, maxMs: 10_000 }) // somewhere in 0..2000
 */
export function backoffDelay(
  attempt: number,
  opts: { baseMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
