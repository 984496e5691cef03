import { createHash } from 'node:crypto';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { USER_SESSIONS_BUCKET } from './subjects.js';

/** A user's active sessions: sid -> start time (ms). Bounded by the per-user limit. */
const ActiveSessions = z.record(z.string(), z.number());
type ActiveSessions = z.infer<typeof ActiveSessions>;

export type AdmitResult = { admitted: true } | { admitted: false; active: number };

/**
 * Counts each user's active sessions across every gateway, for MAX_SESSIONS_PER_USER. One KV
 * entry per user holds the ids of sessions it started; when the list is full the gateway drops
 * the ids the session registry says are no longer active (so the index heals itself after
 * crashes: nothing ever needs to decrement it), then adds the new id with a
 * compare-and-set on the entry's revision, so two gateways racing for one user cannot both
 * slip past the limit.
 */
export class UserSessionIndex {
  private constructor(private readonly kv: KV) {}

  /** Creates the bucket if needed (idempotent, safe from every gateway). */
  static async open(
    nc: NatsConnection,
    opts: { replicas: number; storage: 'file' | 'memory'; ttlMs: number },
  ): Promise<UserSessionIndex> {
    const kv = await new Kvm(nc).create(USER_SESSIONS_BUCKET, {
      replicas: opts.replicas,
      storage: opts.storage,
      ttl: opts.ttlMs,
      history: 1,
    });
    return new UserSessionIndex(kv);
  }

  /**
   * Admits session `sid` for a user unless `limit` other sessions of theirs are still active.
   * `isActive` asks the session registry (queued, running or waiting for input).
   */
  async admit(
    tenant: string,
    user: string,
    sid: string,
    limit: number,
    isActive: (sid: string) => Promise<boolean>,
  ): Promise<AdmitResult> {
    const key = userKey(tenant, user);
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.kv.get(key);
      const exists = entry?.operation === 'PUT' && entry.length > 0;
      const parsed = exists ? ActiveSessions.safeParse(entry.json()) : null;
      const current: ActiveSessions = parsed?.success ? parsed.data : {};
      if (Object.hasOwn(current, sid)) return { admitted: true }; // an idempotent retry of the same start
      // Ids of finished sessions are only pruned when the user reaches the limit: the common
      // start costs no registry reads at all.
      const live = Object.keys(current).length >= limit ? await prune(current, isActive) : current;
      if (Object.keys(live).length >= limit) return { admitted: false, active: Object.keys(live).length };
      live[sid] = Date.now();
      try {
        if (exists && entry) await this.kv.update(key, JSON.stringify(live), entry.revision);
        else await this.kv.create(key, JSON.stringify(live));
        return { admitted: true };
      } catch (err) {
        // Another gateway changed the entry since we read it: read again and re-check.
        if (!/wrong last sequence|key exists/i.test(String(err))) throw err;
      }
    }
    throw new Error('too many concurrent starts for one user');
  }
}

/** Keeps the sessions still active (checked in parallel; the list is at most the limit long). */
async function prune(
  sessions: ActiveSessions,
  isActive: (sid: string) => Promise<boolean>,
): Promise<ActiveSessions> {
  const ids = Object.keys(sessions);
  const alive = await Promise.all(ids.map((id) => isActive(id)));
  const out: ActiveSessions = {};
  ids.forEach((id, i) => {
    if (alive[i]) out[id] = sessions[id]!;
  });
  return out;
}

/** KV key of a user: the tenant (a safe token) and a hash of the user id (any string). */
function userKey(tenant: string, user: string): string {
  return `${tenant}.${createHash('sha256').update(user).digest('base64url').slice(0, 32)}`;
}
