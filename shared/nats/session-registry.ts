import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SessionRecord, type SessionState } from '../protocol/session-record.js';
import { SESSIONS_BUCKET } from './subjects.js';

/** Result of {@link SessionRegistry.create}: a new record, or the existing one for that id. */
export type CreateResult =
  | { created: true; record: SessionRecord }
  | { created: false; record: SessionRecord };

/**
 * The session registry: one KV entry per session with its owner and state. It lives in NATS so
 * any gateway can authorise a resume and list sessions; it is written on state transitions only.
 */
export class SessionRegistry {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<SessionRegistry> {
    return new SessionRegistry(await new Kvm(nc).open(SESSIONS_BUCKET));
  }

  async get(sid: string): Promise<SessionRecord | null> {
    const e = await this.kv.get(sid);
    if (e?.operation !== 'PUT' || e.length === 0) return null;
    const parsed = SessionRecord.safeParse(e.json());
    return parsed.success ? parsed.data : null;
  }

  /** Creates the record unless one exists (atomic: two gateways racing on one id create it once). */
  async create(record: SessionRecord): Promise<CreateResult> {
    try {
      await this.kv.create(record.sid, JSON.stringify(record));
      return { created: true, record };
    } catch (err) {
      const existing = await this.get(record.sid);
      if (existing) return { created: false, record: existing };
      throw err;
    }
  }

  /**
   * Read-modify-write with compare-and-set on the revision, retried on conflicts, so concurrent
   * writers (a gateway's cancel, a worker's state change) never lose each other's update.
   */
  async update(sid: string, change: (r: SessionRecord) => SessionRecord): Promise<SessionRecord | null> {
    for (let i = 0; i < 10; i++) {
      const e = await this.kv.get(sid);
      if (e?.operation !== 'PUT' || e.length === 0) return null;
      const parsed = SessionRecord.safeParse(e.json());
      if (!parsed.success) return null;
      const next = { ...change(parsed.data), updatedAt: Date.now() };
      try {
        await this.kv.update(sid, JSON.stringify(next), e.revision);
        return next;
      } catch (err) {
        if (!String(err).includes('wrong last sequence')) throw err;
      }
    }
    throw new Error(`session ${sid}: too many concurrent registry updates`);
  }

  async setState(
    sid: string,
    state: SessionState,
    extra: Partial<SessionRecord> = {},
  ): Promise<SessionRecord | null> {
    return this.update(sid, (r) => ({ ...r, ...extra, state }));
  }

  /** Every session id in the bucket (the list API reads values page by page). */
  async keys(): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys()) out.push(k);
    return out;
  }

  /** Every record (for the session list API); the bucket is bounded by its TTL. */
  async *list(): AsyncGenerator<SessionRecord> {
    const keys = await this.kv.keys();
    for await (const k of keys) {
      const r = await this.get(k);
      if (r) yield r;
    }
  }

  async delete(sid: string): Promise<void> {
    await this.kv.delete(sid);
  }
}
