import type { StartOptions } from './types.js';

/** The part of the Web Storage API the client uses (`sessionStorage`, `localStorage`, or your own). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * What survives a page reload: the session id and, until the gateway acknowledged it, the start
 * request (so a reload between "send" and "ack" re-sends the same start, which is idempotent by
 * sid). No text and no seq: after a reload the page has lost the text, and the only exact way to
 * rebuild it is to replay the session's log from seq 0. That replay costs one read of a few
 * hundred events, whereas persisting text would mean a synchronous storage write per token.
 */
export interface PersistedSession {
  sid: string;
  input?: string;
  /** Present until the gateway acknowledged the start. */
  start?: StartOptions;
  createdAt: number;
}

/** Keeps the last `max` sessions of this tab in a Storage under one key (JSON). Never throws. */
export class SessionStore {
  constructor(
    private readonly storage: StorageLike,
    private readonly key = 'streamfabric.sessions',
    private readonly max = 20,
  ) {}

  list(): PersistedSession[] {
    try {
      const v: unknown = JSON.parse(this.storage.getItem(this.key) ?? '[]');
      if (!Array.isArray(v)) return [];
      return v.filter(
        (r): r is PersistedSession => typeof r === 'object' && r !== null && typeof r.sid === 'string',
      );
    } catch {
      return [];
    }
  }

  put(rec: PersistedSession): void {
    const rest = this.list().filter((r) => r.sid !== rec.sid);
    this.write([...rest, rec].slice(-this.max));
  }

  /** Marks a start as acknowledged: it must never be re-sent after that. */
  acknowledge(sid: string): void {
    const all = this.list();
    const rec = all.find((r) => r.sid === sid);
    if (!rec?.start) return;
    delete rec.start;
    this.write(all);
  }

  remove(sid: string): void {
    this.write(this.list().filter((r) => r.sid !== sid));
  }

  private write(all: PersistedSession[]): void {
    try {
      if (all.length === 0) this.storage.removeItem(this.key);
      else this.storage.setItem(this.key, JSON.stringify(all));
    } catch {
      // Quota exceeded or storage disabled (private mode): persistence is best effort.
    }
  }
}
