import { randomBytes } from 'node:crypto';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers, type NatsConnection, type QueuedIterator } from '@nats-io/transport-node';
import { SessionEvent } from '../protocol/events.js';
import { HEDGE_AFTER_MS, hedged, isTransient, onReconnect } from './hedged-read.js';
import {
  eventMsgId,
  eventsStream,
  SEQ_HEADER,
  seqFromMsgId,
  subjects,
  TOKENS_HEADER,
  TS_HEADER,
  WRITER_HEADER,
} from './subjects.js';

const decoder = new TextDecoder();

/** A fresh log generation id (EventBase.epoch): 48 random bits, one per writer. */
export function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

/** The log moved on between a read and a fenced append: re-read and decide again. */
export class LogConflictError extends Error {
  override readonly name = 'LogConflictError';
  constructor(
    readonly sid: string,
    readonly seq: number,
  ) {
    super(`session ${sid}: the log changed before event ${seq} could be appended`);
  }
}

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
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
  ) {}

  static async create(nc: NatsConnection): Promise<JetStreamEventLog> {
    return new JetStreamEventLog(nc, await jetstreamManager(nc), jetstream(nc));
  }

  /**
   * Appends one event written outside a worker (a user's message or answer), fenced like a
   * worker's write: it is stored only if the subject's last stream sequence is still
   * `expectLastStreamSeq`. Throws {@link LogConflictError} when someone wrote in between.
   */
  async append(
    tenant: string,
    event: SessionEvent,
    expectLastStreamSeq: number,
    writer: string,
  ): Promise<number> {
    const h = headers();
    h.set(SEQ_HEADER, String(event.seq));
    h.set(TS_HEADER, String(event.ts));
    h.set(WRITER_HEADER, writer);
    try {
      // The resume hint (EventBase.prevPos) and this append's own generation (EventBase.epoch).
      const stored = { ...event, prevPos: expectLastStreamSeq, epoch: newEpoch() };
      const ack = await this.js.publish(subjects.events(tenant, event.sid), JSON.stringify(stored), {
        msgID: eventMsgId(event.sid, event.seq, writer),
        headers: h,
        expect: { lastSubjectSequence: expectLastStreamSeq },
        timeout: 5_000,
      });
      return ack.seq;
    } catch (err) {
      if (String(err).includes('wrong last sequence')) throw new LogConflictError(event.sid, event.seq);
      throw err;
    }
  }

  /** Every stored event of a session, parsed, with the stream sequence of the last one. */
  async readAll(tenant: string, sid: string): Promise<{ events: SessionEvent[]; lastStreamSeq: number }> {
    const events: SessionEvent[] = [];
    let lastStreamSeq = 0;
    for await (const e of this.readAfter(tenant, sid, 0)) {
      const parsed = SessionEvent.safeParse(JSON.parse(decoder.decode(e.data)));
      if (parsed.success) events.push(parsed.data);
      lastStreamSeq = e.streamSeq;
    }
    return { events, lastStreamSeq };
  }

  /** Removes every event of a session (explicit delete). */
  async purge(tenant: string, sid: string): Promise<void> {
    await this.jsm.streams.purge(eventsStream(sid), { filter: subjects.events(tenant, sid) });
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
      // Hedged: a read lost with a dead server is sent again instead of waiting out its timeout.
      // A leader read goes through the server's JetStream API queue, the first thing to back up
      // on a saturated server: extra copies there only add to it, so it is re-sent on reconnect only.
      const m = await hedged(
        this.nc,
        () =>
          opts.fromLeader
            ? this.jsm.streams.getMessage(eventsStream(sid), query)
            : this.jsm.direct.getMessage(eventsStream(sid), query),
        opts.fromLeader ? { hedgeAfterMs: Number.POSITIVE_INFINITY } : {},
      );
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
   * The stored event at `seq` (its epoch, EventBase.epoch), or null when the log does not hold it.
   * `fromStreamSeq` is a hint at or before it (a client's `pos`); a hint past it falls back to a
   * read from the session's first event.
   */
  async eventAt(
    tenant: string,
    sid: string,
    seq: number,
    fromStreamSeq = 1,
  ): Promise<{ seq: number; epoch: string | undefined } | null> {
    for (const from of fromStreamSeq > 1 ? [fromStreamSeq, 1] : [1]) {
      for await (const e of this.readAfter(tenant, sid, seq - 1, from, 1)) {
        if (e.seq !== seq) break; // the hint was past it (or the log lacks it): try from the start
        const parsed = JSON.parse(decoder.decode(e.data)) as { epoch?: unknown };
        return { seq, epoch: typeof parsed.epoch === 'string' ? parsed.epoch : undefined };
      }
    }
    return null;
  }

  /** How many of a session's events the stream still holds (the oldest may have aged out). */
  async count(tenant: string, sid: string): Promise<number> {
    const subject = subjects.events(tenant, sid);
    const info = await this.jsm.streams.info(eventsStream(sid), { subjects_filter: subject });
    return info.state.subjects?.[subject] ?? 0;
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
    let noResponderRetries = 0;
    for (;;) {
      let got = 0;
      let last = 0;
      let pending = 0;
      let iter: QueuedIterator<StoredMsg> | undefined;
      let it: AsyncIterator<StoredMsg> | undefined;
      let firstResult: IteratorResult<StoredMsg> | undefined;
      try {
        // A batch whose first answer does not come (its request died with a server) is asked
        // again at once after a reconnect, or after HEDGE_AFTER_MS, keeping the first copy: the
        // copy that answers first is read, the other stopped (any replica may answer).
        const open = () =>
          this.jsm.direct.getBatch(eventsStream(sid), {
            seq: next,
            batch,
            next_by_subj: subject,
            ...(maxBytes ? { max_bytes: maxBytes } : {}),
          });
        const won = await firstOfCopies(this.nc, open);
        iter = won.iter;
        it = won.it;
        firstResult = won.first;
      } catch (err) {
        if (isNotFound(err)) return;
        // No responders: a server just restarted (its routes not up yet) or the replicas are
        // moving. Nothing was yielded from this batch, so asking again is safe; a few quick tries
        // before the caller's slower retry.
        if (isTransient(err) && noResponderRetries < 5) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** noResponderRetries++));
          continue;
        }
        throw err;
      }
      try {
        for (;;) {
          let r: IteratorResult<StoredMsg>;
          if (firstResult) {
            r = firstResult;
            firstResult = undefined;
          } else r = await nextWithin(it, BATCH_IDLE_TIMEOUT_MS);
          if (r.done) break;
          const m = r.value;
          got++;
          last = m.seq;
          pending = m.pending;
          const seq = seqOfHeaders(m.header);
          if (seq === undefined || seq <= after) continue;
          yield { streamSeq: m.seq, seq, data: m.data, tokens: tokensOfHeaders(m.header) };
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

/** Copies of one batch read at most: one a second while none answers (about 8 s, then it fails). */
const MAX_BATCH_COPIES = 8;
/** Copies kept waiting at once; the oldest is stopped when a newer one is sent. */
const LIVE_BATCH_COPIES = 3;

/**
 * Opens a batch read and waits for its first answer; when none came after HEDGE_AFTER_MS or the
 * connection reconnected meanwhile, opens another copy while still waiting for the earlier ones
 * (the last LIVE_BATCH_COPIES). The first copy to answer wins; the others are stopped. A copy is
 * sent every second until one answers, so once the cluster is back (a leader elected, a node's
 * routes up) a fresh request is at most a second away: requests sent during the outage were lost.
 */
async function firstOfCopies(
  nc: NatsConnection,
  open: () => Promise<QueuedIterator<StoredMsg>>,
): Promise<{
  iter: QueuedIterator<StoredMsg>;
  it: AsyncIterator<StoredMsg>;
  first: IteratorResult<StoredMsg>;
}> {
  const live: QueuedIterator<StoredMsg>[] = [];
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stop: () => void = () => undefined;
  try {
    return await new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        for (const c of live) c.stop();
        reject(err);
      };
      const add = async () => {
        if (settled) return;
        clearTimeout(timer);
        if (sent >= MAX_BATCH_COPIES) {
          fail(new Error(`direct get batch unanswered after ${MAX_BATCH_COPIES} copies`));
          return;
        }
        sent++;
        let iter: QueuedIterator<StoredMsg>;
        try {
          iter = await open();
        } catch (err) {
          fail(err);
          return;
        }
        if (settled) {
          iter.stop();
          return;
        }
        live.push(iter);
        if (live.length > LIVE_BATCH_COPIES) live.shift()?.stop();
        timer = setTimeout(() => void add(), HEDGE_AFTER_MS);
        const it = iter[Symbol.asyncIterator]();
        it.next().then(
          (first) => {
            if (settled) {
              iter.stop(); // a later answer of a copy that lost
              return;
            }
            if (first.done && !live.includes(iter)) return; // stopped as the oldest copy
            settled = true;
            for (const c of live) if (c !== iter) c.stop();
            resolve({ iter, it, first });
          },
          (err: unknown) => {
            const i = live.indexOf(iter);
            if (i >= 0) live.splice(i, 1);
            // An answer (not found, an error status) is final; a timeout or no responders is
            // worth another copy (sent now if none is left waiting).
            if (!isTransient(err)) fail(err);
            else if (live.length === 0) void add();
          },
        );
      };
      stop = onReconnect(nc, () => void add());
      void add();
    });
  } finally {
    clearTimeout(timer);
    stop();
  }
}

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
