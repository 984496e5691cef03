import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { SessionRecord, type SessionState } from '../protocol/session-record.js';
import {
  addKnownLayouts,
  allPartitions,
  layoutsToSearch,
  META_BUCKET,
  META_PARTITIONS_KEY,
  noteSessionLayout,
  partitionCount,
  sessionPartitions,
  sessionsBucket,
} from './subjects.js';

/** Result of {@link SessionRegistry.create}: a new record, or the existing one for that id. */
export type CreateResult =
  | { created: true; record: SessionRecord }
  | { created: false; record: SessionRecord };

/** Most records whose last seen revision is kept for {@link SessionRegistry.update}. */
const KNOWN_REVISIONS = 8_192;

/**
 * The session registry: one KV entry per session with its owner and state. It lives in NATS so
 * any gateway can authorise a resume and list sessions; it is written on state transitions only.
 * With partitions (docs/partitions.md) a session's record lives in the bucket of its partition;
 * a lookup tries the current layout first, then the earlier recorded ones, and remembers where it
 * found the session so its events are read from and written to the same layout's stream.
 */
export class SessionRegistry {
  private lastLayoutRefresh = 0;
  /**
   * The last revision this process read or wrote per session: an update tries it first instead of
   * re-reading (a worker's turn is read, then set running, then idle: 3 KV round trips, not 5). A
   * stale one only costs the failed compare-and-set and the re-read that was always there.
   */
  private readonly known = new Map<string, { kv: KV; revision: number; record: SessionRecord }>();

  private constructor(
    private readonly kvm: Kvm,
    private readonly buckets: Map<string, KV>,
  ) {}

  static async open(nc: NatsConnection): Promise<SessionRegistry> {
    const kvm = new Kvm(nc);
    const buckets = new Map<string, KV>();
    for (const p of allPartitions()) buckets.set(p.sessionsBucket, await kvm.open(p.sessionsBucket));
    return new SessionRegistry(kvm, buckets);
  }

  /** A partition's bucket; one of a layout this process did not start with is opened on first use. */
  private async kv(name: string): Promise<KV> {
    let kv = this.buckets.get(name);
    if (!kv) {
      kv = await this.kvm.open(name);
      this.buckets.set(name, kv);
    }
    return kv;
  }

  /** The bucket names a sid may be in, most likely first (each once), with their layouts. */
  private candidates(sid: string): { name: string; partitions: number }[] {
    const out: { name: string; partitions: number }[] = [];
    const seen = new Set<string>();
    for (const p of [sessionPartitions(sid), ...layoutsToSearch()]) {
      const name = sessionsBucket(sid, p);
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, partitions: p });
    }
    return out;
  }

  /**
   * The session's live entry and its bucket, or null; notes the layout it lives under. On a miss
   * the recorded layout history is read again (at most once a second): a process started before P
   * grew then finds the sessions created under the new layout.
   */
  private async entry(sid: string): Promise<{ kv: KV; e: KvEntry } | null> {
    for (let pass = 0; pass < 2; pass++) {
      for (const c of this.candidates(sid)) {
        const kv = await this.kv(c.name);
        const e = await kv.get(sid);
        if (e?.operation === 'PUT' && e.length > 0) {
          noteSessionLayout(sid, c.partitions);
          return { kv, e };
        }
      }
      if (pass === 0 && !(await this.refreshLayout())) return null;
    }
    return null;
  }

  /** Learns layouts recorded after this process started; true when there was a new one. */
  private async refreshLayout(): Promise<boolean> {
    if (Date.now() - this.lastLayoutRefresh < 1_000) return false;
    this.lastLayoutRefresh = Date.now();
    try {
      const meta = await this.kvm.open(META_BUCKET);
      const e = await meta.get(META_PARTITIONS_KEY);
      if (e?.operation !== 'PUT') return false;
      const recorded = (e.json() as { partitions?: unknown }[])
        .map((h) => h.partitions)
        .filter((p): p is number => Number.isInteger(p));
      return addKnownLayouts(recorded);
    } catch {
      return false;
    }
  }

  /**
   * Finds which layout a session lives under (a no-op while only one layout was ever recorded),
   * so the event log's names for it are right: call before reading a session's events without a
   * registry read first (a worker's job).
   */
  async locate(sid: string): Promise<void> {
    if (layoutsToSearch().length > 1) await this.entry(sid);
  }

  async get(sid: string): Promise<SessionRecord | null> {
    const found = await this.entry(sid);
    if (!found) return null;
    const parsed = SessionRecord.safeParse(found.e.json());
    if (!parsed.success) return null;
    this.remember(sid, found.kv, found.e.revision, parsed.data);
    return parsed.data;
  }

  private remember(sid: string, kv: KV, revision: number, record: SessionRecord): void {
    this.known.delete(sid); // re-inserted last: the map's order is the eviction order
    this.known.set(sid, { kv, revision, record });
    if (this.known.size > KNOWN_REVISIONS) this.known.delete(this.known.keys().next().value as string);
  }

  /** Creates the record unless one exists (atomic: two gateways racing on one id create it once). */
  async create(record: SessionRecord): Promise<CreateResult> {
    if (layoutsToSearch().length > 1) {
      const existing = await this.get(record.sid);
      if (existing) return { created: false, record: existing };
    }
    try {
      const kv = await this.kv(sessionsBucket(record.sid, partitionCount()));
      this.remember(record.sid, kv, await kv.create(record.sid, JSON.stringify(record)), record);
      noteSessionLayout(record.sid, partitionCount());
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
    const known = this.known.get(sid);
    if (known) {
      try {
        return await this.write(sid, known.kv, known.revision, known.record, change);
      } catch (err) {
        this.known.delete(sid);
        if (!String(err).includes('wrong last sequence')) throw err;
      }
    }
    for (let i = 0; i < 10; i++) {
      const found = await this.entry(sid);
      if (!found) return null;
      const parsed = SessionRecord.safeParse(found.e.json());
      if (!parsed.success) return null;
      try {
        return await this.write(sid, found.kv, found.e.revision, parsed.data, change);
      } catch (err) {
        if (!String(err).includes('wrong last sequence')) throw err;
      }
    }
    throw new Error(`session ${sid}: too many concurrent registry updates`);
  }

  /** One compare-and-set write of `change(record)`; throws "wrong last sequence" if `revision` is stale. */
  private async write(
    sid: string,
    kv: KV,
    revision: number,
    record: SessionRecord,
    change: (r: SessionRecord) => SessionRecord,
  ): Promise<SessionRecord> {
    const next = { ...change(record), updatedAt: Date.now() };
    this.remember(sid, kv, await kv.update(sid, JSON.stringify(next), revision), next);
    return next;
  }

  async setState(
    sid: string,
    state: SessionState,
    extra: Partial<SessionRecord> = {},
  ): Promise<SessionRecord | null> {
    return this.update(sid, (r) => ({ ...r, ...extra, state }));
  }

  /** Every session id of every partition (the list API reads values page by page). */
  async keys(): Promise<string[]> {
    const out = new Set<string>();
    for (const kv of this.buckets.values()) for await (const k of await kv.keys()) out.add(k);
    return [...out];
  }

  /** Every record of every partition (for the session list API); the buckets are bounded by their TTL. */
  async *list(): AsyncGenerator<SessionRecord> {
    const seen = new Set<string>();
    for (const kv of this.buckets.values()) {
      for await (const k of await kv.keys()) {
        if (seen.has(k)) continue;
        seen.add(k);
        const e = await kv.get(k);
        if (e?.operation !== 'PUT' || e.length === 0) continue;
        const parsed = SessionRecord.safeParse(e.json());
        if (parsed.success) yield parsed.data;
      }
    }
  }

  async delete(sid: string): Promise<void> {
    this.known.delete(sid);
    const found = await this.entry(sid);
    await (found?.kv ?? (await this.kv(sessionsBucket(sid, partitionCount())))).delete(sid);
  }
}
