import type { Logger } from '../logging/logger.js';

/**
 * Errors a JetStream API call gives while the cluster cannot answer yet: a request timeout, no
 * responders, "JetStream system temporarily unavailable" (503) while a meta or stream leader is
 * elected after a node died, or a connection that is reconnecting. They pass by themselves.
 * nats.js reports "no responders" from the JetStream API as "jetstream is not enabled": during an
 * outage that is a quorum still missing, so it is retried too (a server really without JetStream
 * still fails, once the startup window is over).
 * Anything else (a stream config the server refuses, a permission error) is a real error.
 */
const TRANSIENT =
  /timeout|timed out|no responders|jetstream is not enabled|temporarily unavailable|\b503\b|no suitable peers|leader|disconnect|reconnect|connection (closed|draining)|insufficient resources/i;

/** Whether an error from a JetStream API call is worth retrying at startup. */
export function isTransientJetStreamError(err: unknown): boolean {
  const e = err as { message?: unknown; code?: unknown; api_error?: { code?: unknown } } | null;
  if (e?.api_error?.code === 503 || e?.code === '503' || e?.code === 503) return true;
  return TRANSIENT.test(String(e?.message ?? err));
}

export interface StartupRetryOptions {
  log: Logger;
  /** Give up (and throw the last error) after this long. Default 120 s. */
  timeoutMs?: number;
  /** Longest pause between tries. Default 2 s. */
  maxDelayMs?: number;
}

/**
 * Runs a startup step (provisioning, opening the KV bucket, binding a consumer) until it
 * succeeds, riding out a NATS cluster that is electing leaders: a gateway or worker started
 * while a broker node is down (a rolling restart, a node replaced by Kubernetes) waits for the
 * cluster instead of crashing into a restart loop. Real errors are thrown at once.
 */
export async function retryStartupStep<T>(
  what: string,
  step: () => Promise<T>,
  o: StartupRetryOptions,
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isTransientJetStreamError(err) || Date.now() > deadline) throw err;
      const delay = Math.min(o.maxDelayMs ?? 2_000, 100 * 2 ** attempt);
      o.log.warn(
        { err: String(err), what, attempt: attempt + 1, delayMs: delay },
        'startup step failed; retrying',
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
