import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SessionEvent } from '../protocol/events.js';
import { EVENTS_STREAM, SEQ_HEADER, seqFromMsgId, subjects, TOKENS_HEADER } from './subjects.js';

/** One stored event: its position in the stream, its session seq and its bytes (JSON). */
export interface StoredEvent {
  streamSeq: number;
  seq: number;
  data: Uint8Array;
  /** Model tokens in a token event (Sf-Tokens header), 0 otherwise: for delivery metrics. */
  tokens: number;
}

/** Model tokens a token event carries, from its header (0 when absent). */
export function tokensOfHeaders(h: { get(k: string): string } | undefined): number {
  return h ? Number(h.get(TOKENS_HEADER)) || 0 : 0;
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

  /** The last event of a session, or null when the session has no stored events. */
  async last(tenant: string, sid: string): Promise<{ streamSeq: number; event: SessionEvent } | null> {
    try {
      const m = await this.jsm.direct.getMessage(EVENTS_STREAM, {
        last_by_subj: subjects.events(tenant, sid),
      });
      if (!m) return null;
      return { streamSeq: m.seq, event: SessionEvent.parse(m.json()) };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** How many of a session's events the stream still holds (the oldest may have aged out). */
  async count(tenant: string, sid: string): Promise<number> {
    const subject = subjects.events(tenant, sid);
    const info = await this.jsm.streams.info(EVENTS_STREAM, { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
  }

  /**
   * Yields the session's stored events with seq > `after`, in order, in batches. `fromStreamSeq`
   * is a hint (a stream position at or before the first wanted event) that skips older data.
   */
  async *readAfter(
    tenant: string,
    sid: string,
    after: number,
    fromStreamSeq = 1,
    batch = 512,
  ): AsyncGenerator<StoredEvent> {
    const subject = subjects.events(tenant, sid);
    let next = fromStreamSeq;
    for (;;) {
      let got = 0;
      let last = 0;
      let pending = 0;
      let iter: AsyncIterable<{
        seq: number;
        data: Uint8Array;
        header: { get(k: string): string };
        pending: number;
      }>;
      try {
        iter = await this.jsm.direct.getBatch(EVENTS_STREAM, { seq: next, batch, next_by_subj: subject });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      try {
        for await (const m of iter) {
          got++;
          last = m.seq;
          pending = m.pending;
          const seq = seqOfHeaders(m.header);
          if (seq === undefined || seq <= after) continue;
          yield { streamSeq: m.seq, seq, data: m.data, tokens: tokensOfHeaders(m.header) };
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (got === 0 || pending <= 0) return;
      next = last + 1;
    }
  }
}

function isNotFound(err: unknown): boolean {
  const s = String((err as Error)?.message ?? err);
  return (
    s.includes('no message found') || s.includes('404') || s.includes('not found') || s.includes('no results')
  );
}
