import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { applyEvent, type Conversation, emptyConversation } from '../protocol/conversation.js';
import { ConversationSnapshot, SNAPSHOT_VERSION } from '../protocol/conversation-snapshot.js';
import { SessionEvent } from '../protocol/events.js';
import type { JetStreamEventLog } from './event-log.js';
import { allPartitions, snapshotKey, snapshotsBucket } from './subjects.js';

const decoder = new TextDecoder();

/**
 * The conversation snapshot store: one KV entry per session (docs/conversations.md). KV because a
 * read is one round trip for one session (a compacted event would need a search of the stream),
 * and the entry is replaced in place once per finished turn.
 */
export class SnapshotStore {
  private constructor(
    private readonly kvm: Kvm,
    private readonly buckets: Map<string, KV>,
  ) {}

  /** Opens the snapshot bucket of every partition (docs/partitions.md). */
  static async open(nc: NatsConnection): Promise<SnapshotStore> {
    const kvm = new Kvm(nc);
    const buckets = new Map<string, KV>();
    for (const p of allPartitions()) buckets.set(p.snapshotsBucket, await kvm.open(p.snapshotsBucket));
    return new SnapshotStore(kvm, buckets);
  }

  /** The bucket of the session's partition (one of a layout newer than the process: opened on first use). */
  private async kvOf(sid: string): Promise<KV> {
    const name = snapshotsBucket(sid);
    let kv = this.buckets.get(name);
    if (!kv) {
      kv = await this.kvm.open(name);
      this.buckets.set(name, kv);
    }
    return kv;
  }

  /** The session's snapshot, or null when there is none or it is not a valid one of this session. */
  async get(tenant: string, sid: string): Promise<ConversationSnapshot | null> {
    const e = await (await this.kvOf(sid)).get(snapshotKey(tenant, sid));
    if (e?.operation !== 'PUT' || e.length === 0) return null;
    let raw: unknown;
    try {
      raw = e.json();
    } catch {
      return null;
    }
    const parsed = ConversationSnapshot.safeParse(raw);
    if (!parsed.success || parsed.data.sid !== sid || parsed.data.tenant !== tenant) return null;
    return parsed.data;
  }

  async put(snap: ConversationSnapshot): Promise<void> {
    await (await this.kvOf(snap.sid)).put(snapshotKey(snap.tenant, snap.sid), JSON.stringify(snap));
  }

  async delete(tenant: string, sid: string): Promise<void> {
    await (await this.kvOf(sid)).delete(snapshotKey(tenant, sid));
  }
}

/** A session's conversation as of its last stored event, and how it was read. */
export interface ConversationRead {
  conversation: Conversation;
  /** The events read from the log: all of them, or the snapshot's anchor event and the tail after it. */
  events: SessionEvent[];
  lastSeq: number;
  lastStreamSeq: number;
  /** The last stored event (null for an empty log). */
  last: SessionEvent | null;
  /** The seq the snapshot covered, when one was used (0: the whole log was read). */
  fromSnapshotSeq: number;
}

/**
 * Reads a session's conversation: its snapshot plus the log after it when the snapshot provably
 * belongs to this log, else the whole log. Never wrong: a missing, unparsable, foreign or stale
 * snapshot, or one newer than the log, costs only the full read.
 */
export async function readConversation(
  log: JetStreamEventLog,
  store: SnapshotStore | undefined,
  tenant: string,
  sid: string,
): Promise<ConversationRead> {
  const snap = store ? await store.get(tenant, sid).catch(() => null) : null;
  if (snap) {
    const fromTail = await readFromSnapshot(log, snap);
    if (fromTail) return fromTail;
  }
  return readFull(log, tenant, sid);
}

async function readFull(log: JetStreamEventLog, tenant: string, sid: string): Promise<ConversationRead> {
  const { events, lastStreamSeq } = await log.readAll(tenant, sid);
  const conversation = emptyConversation();
  for (const ev of events) applyEvent(conversation, ev);
  const last = events.at(-1) ?? null;
  return { conversation, events, lastSeq: last?.seq ?? 0, lastStreamSeq, last, fromSnapshotSeq: 0 };
}

/**
 * The snapshot's conversation with the tail applied, or null when the log does not continue it:
 * the stored message at `snap.streamSeq` must be event `snap.seq` of this session (the anchor: a
 * purged or rewritten log, or a snapshot newer than the log, fails here), and every later event
 * must follow it seq by seq.
 */
async function readFromSnapshot(
  log: JetStreamEventLog,
  snap: ConversationSnapshot,
): Promise<ConversationRead | null> {
  const events: SessionEvent[] = [];
  let lastStreamSeq = 0;
  let expected = snap.seq;
  for await (const e of log.readAfter(snap.tenant, snap.sid, snap.seq - 1, snap.streamSeq)) {
    if (expected === snap.seq && e.streamSeq !== snap.streamSeq) return null;
    if (e.seq !== expected) return null;
    const parsed = SessionEvent.safeParse(JSON.parse(decoder.decode(e.data)));
    if (!parsed.success || parsed.data.sid !== snap.sid) return null;
    events.push(parsed.data);
    lastStreamSeq = e.streamSeq;
    expected++;
  }
  if (events.length === 0) return null;
  // The snapshot was parsed for this read alone: fold the tail into it in place (no copy).
  const conversation = snap.conversation as Conversation;
  if (conversation.lastSeq !== snap.seq) return null;
  for (const ev of events.slice(1)) applyEvent(conversation, ev);
  const last = events.at(-1) ?? null;
  return {
    conversation,
    events,
    lastSeq: last?.seq ?? snap.seq,
    lastStreamSeq,
    last,
    fromSnapshotSeq: snap.seq,
  };
}

/**
 * The session's snapshot when its anchor holds (the stored message at `streamSeq` is event `seq`
 * of this session), without reading the tail: what a resume from a snapshot needs, since the tail
 * is then delivered as events. One KV get and one direct get.
 */
export async function anchoredSnapshot(
  log: JetStreamEventLog,
  store: SnapshotStore,
  tenant: string,
  sid: string,
): Promise<ConversationSnapshot | null> {
  const snap = await store.get(tenant, sid).catch(() => null);
  if (!snap || snap.conversation.lastSeq !== snap.seq) return null;
  for await (const e of log.readAfter(tenant, sid, snap.seq - 1, snap.streamSeq, 1)) {
    return e.streamSeq === snap.streamSeq && e.seq === snap.seq ? snap : null;
  }
  return null;
}

/** The snapshot of a conversation read up to its last event (null when there is nothing to keep). */
export function snapshotOf(tenant: string, sid: string, read: ConversationRead): ConversationSnapshot | null {
  if (!read.last || read.lastStreamSeq < 1) return null;
  return {
    v: SNAPSHOT_VERSION,
    tenant,
    sid,
    seq: read.lastSeq,
    streamSeq: read.lastStreamSeq,
    writtenAt: Date.now(),
    conversation: read.conversation,
  };
}

/**
 * Writes the session's snapshot after a turn ended: reads the conversation (its previous snapshot
 * plus one turn of tail) and stores it. Best effort: a failure only means the next read is longer.
 */
export async function refreshSnapshot(
  log: JetStreamEventLog,
  store: SnapshotStore,
  tenant: string,
  sid: string,
): Promise<ConversationSnapshot | null> {
  const read = await readConversation(log, store, tenant, sid);
  if (read.fromSnapshotSeq === read.lastSeq) return null; // nothing new since the last snapshot
  const snap = snapshotOf(tenant, sid, read);
  if (snap) await store.put(snap);
  return snap;
}
