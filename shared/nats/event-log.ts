import { type JetStreamManager, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { SessionEvent } from '../protocol/events.js';
import { EVENTS_STREAM, SEQ_HEADER, seqFromMsgId, subjects, WRITER_HEADER } from './subjects.js';

/** One stored event: its position in the stream, its session seq and its bytes (JSON). */
export interface StoredEvent {
  streamSeq: number;
  seq: number;
  data: Uint8Array;
}

/** Reads the per-session seq of a stored or republished message from its headers. */
export function seqOfHeaders(h: { get(k: string): string } | undefined): number | undefined {
  if (!h) return undefined;
  const v = Number(h.get(SEQ_HEADER));
  if (Number.isInteger(v) && v > 0) return v;
  return seqFromMsgId(h.get('Nats-Msg-Id'));
}

/**
 * Reads a session's event log from the EVENTS stream with direct gets (no consumer object is
 * created on the server, which matters when thousands of clients resume at once).
 */
export class JetStreamEventLog {
  private constructor(private readonly jsm: JetStreamManager) {}

  static async create(nc: NatsConnection): Promise<JetStreamEventLog> {
    return new JetStreamEventLog(await jetstreamManager(nc));
  }

  /**
   * The last event of a session (with the writer that stored it), or null when it has none.
   * By default a direct get, which any replica of an R3 stream may answer, possibly from slightly
   * behind the leader; `fromLeader` asks the stream leader (STREAM.MSG.GET) for an answer that is
   * never stale: for decisions a stale read would get wrong (where a new writer starts, whether
   * a client's position exists).
   */
  async last(
    tenant: string,
    sid: string,
    opts: { fromLeader?: boolean } = {},
  ): Promise<{ streamSeq: number; event: SessionEvent; writer: string } | null> {
    try {
      const query = { last_by_subj: subjects.events(tenant, sid) };
      const m = opts.fromLeader
        ? await this.jsm.streams.getMessage(EVENTS_STREAM, query)
        : await this.jsm.direct.getMessage(EVENTS_STREAM, query);
      if (!m) return null;
      return {
        streamSeq: m.seq,
        event: SessionEvent.parse(m.json()),
        writer: m.header?.get(WRITER_HEADER) ?? '',
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /**
   * Yields the session's stored events with seq > `after`, in order, in batches. `fromStreamSeq`
   * is a hint (a stream position at or before the first wanted event) that skips older data.
   * `maxBytes` caps each batch (at least one event per batch), so a reader that may stop early
   * (a paused client) never pulls much more than it can use.
   */
  async *readAfter(
    tenant: string,
    sid: string,
    after: number,
    fromStreamSeq = 1,
    batch = 512,
    maxBytes?: number,
  ): AsyncGenerator<StoredEvent> {
    const subject = subjects.events(tenant, sid);
    let next = fromStreamSeq;
    for (;;) {
      let got = 0;
      let last = 0;
      let pending = 0;
      let iter: QueuedIterator<StoredMsg>;
      try {
        iter = await this.jsm.direct.getBatch(EVENTS_STREAM, {
          seq: next,
          batch,
          next_by_subj: subject,
          ...(maxBytes ? { max_bytes: maxBytes } : {}),
        });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      const it = iter[Symbol.asyncIterator]();
      try {
        for (;;) {
          const r = await nextWithin(it, BATCH_IDLE_TIMEOUT_MS);
          if (r.done) break;
          const m = r.value;
          got++;
          last = m.seq;
          pending = m.pending;
          const seq = seqOfHeaders(m.header);
          if (seq === undefined || seq <= after) continue;
          yield { streamSeq: m.seq, seq, data: m.data };
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      } finally {
        iter.stop();
      }
      if (got === 0 || pending <= 0) return;
      next = last + 1;
    }
  }
}

/**
 * A batch whose responses stop arriving (the server dropped them: a slow consumer, a reconnect)
 * would otherwise leave the reader waiting forever; nats.js only times out the first response.
 */
const BATCH_IDLE_TIMEOUT_MS = 5_000;

async function nextWithin<T>(it: AsyncIterator<T>, ms: number): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`direct get batch stalled for ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([it.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function isNotFound(err: unknown): boolean {
  const s = String((err as Error)?.message ?? err);
  return (
    s.includes('no message found') || s.includes('404') || s.includes('not found') || s.includes('no results')
  );
}
