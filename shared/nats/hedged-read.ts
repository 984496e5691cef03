import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Reads that never wait out a request timeout for an answer that cannot come.
 *
 * A request sent just before the connection's server died (or routed to a replica that died) is
 * lost: nats.js re-subscribes after the reconnect but never resends it, so the caller waited the
 * whole request timeout (5 s) before it could even retry. Reads are idempotent, so a read here is
 * sent again at once when the connection reconnects, and again when it has had no answer after
 * `hedgeAfterMs` (another replica answers a direct get); the first answer wins.
 */
export interface HedgeOptions {
  /** Send a second copy of a read unanswered after this long (ms). */
  hedgeAfterMs?: number;
  /** Copies of one read at most (the first included). */
  maxAttempts?: number;
  /** Retries after a transient failure (no responders, timeout) when no copy is left on its way. */
  maxRetries?: number;
}

/** Default hedge delay: above a read's p99 on a saturated box (~700 ms), so it rarely fires when all is well. */
export const HEDGE_AFTER_MS = 1_000;

const listeners = new WeakMap<NatsConnection, Set<() => void>>();

/** Calls `f` on each reconnect of `nc` until the returned function is called. */
export function onReconnect(nc: NatsConnection, f: () => void): () => void {
  let set = listeners.get(nc);
  if (!set) {
    const fresh = new Set<() => void>();
    set = fresh;
    listeners.set(nc, fresh);
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') for (const g of [...fresh]) g();
    })().catch(() => undefined);
  }
  const s = set;
  s.add(f);
  return () => {
    s.delete(f);
  };
}

export function hedged<T>(nc: NatsConnection, read: () => Promise<T>, o: HedgeOptions = {}): Promise<T> {
  const hedgeAfterMs = o.hedgeAfterMs ?? HEDGE_AFTER_MS;
  const maxAttempts = o.maxAttempts ?? 8; // one a second: a fresh copy soon after the cluster is back
  return new Promise<T>((resolve, reject) => {
    let attempts = 0;
    let retries = 0;
    const maxRetries = o.maxRetries ?? 5; // 50 + 100 + ... + 800 ms: 1.55 s of retries at most
    let pending = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stop: () => void = () => undefined;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      stop();
    };
    const fire = () => {
      if (done || attempts >= maxAttempts) return;
      attempts++;
      pending++;
      clearTimeout(timer);
      if (attempts < maxAttempts && Number.isFinite(hedgeAfterMs)) timer = setTimeout(fire, hedgeAfterMs);
      read().then(
        (v) => {
          pending--;
          if (done) return;
          finish();
          resolve(v);
        },
        (err: unknown) => {
          pending--;
          if (done) return;
          // An answer (not found, an API error) is final; only a copy still on its way may do better.
          if (isTransient(err)) {
            if (pending > 0) return;
            // No responders (a server just restarted, its routes not up yet) or a timeout: the
            // cluster is moving; ask again shortly rather than fail the caller at once.
            if (retries < maxRetries) {
              clearTimeout(timer);
              timer = setTimeout(
                () => {
                  attempts = Math.min(attempts, maxAttempts - 1);
                  fire();
                },
                50 * 2 ** retries++,
              );
              return;
            }
          }
          finish();
          reject(err);
        },
      );
    };
    stop = onReconnect(nc, fire);
    fire();
  });
}

/** Errors another copy of the read may not get: a timeout, a connection that closed under it. */
export function isTransient(err: unknown): boolean {
  const s = String((err as Error)?.message ?? err).toLowerCase();
  return (
    s.includes('timeout') || s.includes('disconnect') || s.includes('closed') || s.includes('no responders')
  );
}
