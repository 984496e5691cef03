/** Backoff policy: the first retry waits up to `baseMs`, each next one doubles, never above `maxMs`. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Full-jitter exponential backoff: a random delay in [0, min(maxMs, baseMs * 2^attempt)).
 * Spreads a reconnect storm over time instead of synchronising it (AWS "full jitter").
 * `random` is injectable so tests can pin it.
 * @example backoffDelay(3, { baseMs: 250, maxMs: 10_000 }) // somewhere in 0..2000
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  // Clamp the exponent: 2 ** 1100 is Infinity, and Infinity * 0 would be NaN.
  const exp = Math.min(Math.max(0, Math.floor(attempt)), 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exp);
  return Math.floor(random() * ceiling);
}
