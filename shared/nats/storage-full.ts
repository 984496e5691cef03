import type { ErrorBody } from '../protocol/errors.js';

// What JetStream answers when a write does not fit: the server's store limit (`max_file_store`,
// a full disk: "insufficient resources"), an account limit, or a stream's own limit with
// DiscardNew ("maximum bytes exceeded"). None of these is fixed by retrying at once.
const STORAGE_FULL =
  /insufficient resources|resource limits exceeded|maximum (bytes|messages) exceeded|no space left/i;

/** True when a JetStream write was refused because the store is out of space. */
export function isStorageFull(err: unknown): boolean {
  if (!err) return false;
  const e = err as { message?: unknown; cause?: unknown };
  return STORAGE_FULL.test(String(e.message ?? err)) || (e.cause !== undefined && isStorageFull(e.cause));
}

/** The typed refusal clients get while the event log is out of space (retryable: space comes back). */
export const STORAGE_FULL_ERROR: ErrorBody = {
  code: 'storage_full',
  message: 'the event log is out of space; retry later',
  retryable: true,
  retryAfterMs: 5_000,
};

/**
 * Runs a write operation; a refusal for lack of space becomes the typed `storage_full` result
 * instead of an exception (which a door would answer with a generic error).
 */
export async function refuseWhenFull<T>(
  op: () => Promise<{ ok: true; value: T } | { ok: false; error: ErrorBody }>,
): Promise<{ ok: true; value: T } | { ok: false; error: ErrorBody }> {
  try {
    return await op();
  } catch (err) {
    if (isStorageFull(err)) return { ok: false, error: STORAGE_FULL_ERROR };
    throw err;
  }
}
