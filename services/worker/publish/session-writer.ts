import { type JetStreamEventLog, newEpoch, type StoredEvent } from '../../../shared/nats/event-log.js';
import { isStorageFull } from '../../../shared/nats/storage-full.js';
import {
  eventMsgId,
  SEQ_HEADER,
  subjects,
  TOKENS_HEADER,
  TS_HEADER,
  WRITER_HEADER,
} from '../../../shared/nats/subjects.js';
import { type EventDraft, InputEvent, type SessionEvent } from '../../../shared/protocol/index.js';
import type { EventPublisher } from './ack-publisher.js';
import { WireHeaders } from './wire-headers.js';

const decoder = new TextDecoder();

/** Another writer took the session over: this writer must stop (it is a zombie). */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(
    readonly sid: string,
    readonly seq: number,
    cause?: unknown,
  ) {
    super(`session ${sid}: another writer owns the log (write of seq ${seq} refused)`, { cause });
  }
}

/**
 * The single writer of a session's log. It stamps events with the next contiguous `seq` and
 * publishes them with `Nats-Msg-Id = <sid>:<seq>` (a retried publish is stored once) and
 * `Nats-Expected-Last-Subject-Sequence` (optimistic concurrency): if anyone else wrote to the
 * subject since our last write, the server refuses and we are fenced.
 */
export class SessionWriter {
  private chain: Promise<unknown> = Promise.resolve();
  private fenced: FencedError | null = null;
  /** The first write that failed: every later one fails with it (see `write`). */
  private broken: unknown = null;
  /** This writer's log generation (EventBase.epoch): a rewrite of a lost log never matches it. */
  private readonly epoch = newEpoch();
  /** Questions of this turn whose answer (a gateway's `input`) may land between our writes. */
  private readonly expectedAnswers = new Set<string>();
  /** Answers adopted by a refused write (requestId -> text), for the input broker. */
  private readonly adopted = new Map<string, string>();
  private readonly adoptListeners = new Set<(requestId: string, text: string) => void>();
  /** Every event this writer stored, in log order (see `storedEvents`); null once another party wrote. */
  private stored: SessionEvent[] | null = [];

  constructor(
    /** An {@link AckPublisher}: pipelined PubAcks. */
    private readonly js: EventPublisher,
    private readonly log: JetStreamEventLog,
    private readonly tenant: string,
    readonly sid: string,
    /** Identifies this attempt's writes (worker id + delivery), checked when a retry looks refused. */
    private readonly writerId: string,
    readonly attempt: number,
    private seq: number,
    private lastStreamSeq: number,
    private readonly retryForMs = 60_000,
    /** Told when a write is refused for lack of space (`first`: the first refusal of this event). */
    private readonly onStorageFull?: (first: boolean) => void,
  ) {}

  /** The seq of the last event written (or found in the log when the writer was created). */
  get lastSeq(): number {
    return this.seq;
  }

  get isFenced(): boolean {
    return this.fenced !== null;
  }

  /** The stream sequence of the last event written (or found in the log at creation). */
  get lastStreamSequence(): number {
    return this.lastStreamSeq;
  }

  /**
   * The events this writer stored, in log order, when they are ALL the log holds after the
   * position the writer was created at; null when another party's event (an adopted `input`)
   * lies between them. With the conversation read at that position, they fold into the
   * conversation at `lastSeq` without reading the log back.
   */
  storedEvents(): readonly SessionEvent[] | null {
    return this.stored;
  }

  /**
   * Appends an event; resolves with the stored event once JetStream acknowledged it. Calls are
   * serialised: each publish names the previous one's stream sequence. `tokens` (model tokens in
   * a token event) travels in a header so gateways count tokens without parsing JSON.
   */
  append(draft: EventDraft, tokens = 0): Promise<SessionEvent> {
    const next = this.chain.then(() => this.write(draft, tokens));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(draft: EventDraft, tokens: number): Promise<SessionEvent> {
    // Fail-stop: once an event could not be stored, the events queued behind it must not be
    // written either, or the next would take the lost one's seq and the log would read
    // contiguous with text missing. The turn stops; a redelivery continues from the log.
    if (this.fenced) throw this.fenced;
    if (this.broken) throw this.broken;
    try {
      return await this.store(draft, tokens);
    } catch (err) {
      if (!(err instanceof FencedError)) this.broken = err;
      throw err;
    }
  }

  private async store(draft: EventDraft, tokens: number): Promise<SessionEvent> {
    const seq = this.seq + 1;
    // Not `{ ...draft, sid, ... }`: V8 11 (Node 20) takes a slow path for a spread followed by
    // more properties (~10-20 µs here, the worker's single biggest line in profiles); assign is ~0.5 µs.
    const event = Object.assign({}, draft, {
      sid: this.sid,
      seq,
      ts: Date.now(),
      attempt: this.attempt,
      // The fencing position is also the resume hint clients send back (see EventBase.prevPos).
      prevPos: this.lastStreamSeq,
      epoch: this.epoch,
    }) as SessionEvent;
    const h = new WireHeaders();
    h.set(SEQ_HEADER, String(seq));
    h.set(WRITER_HEADER, this.writerId);
    h.set(TS_HEADER, String(event.ts));
    if (tokens > 0) h.set(TOKENS_HEADER, String(tokens));
    const subject = subjects.events(this.tenant, this.sid);
    try {
      // Encoded once, here; every gateway forwards these bytes as they are. Buffer.from is ~2x
      // faster than TextEncoder for strings this small (and allocates from a pool).
      const ack = await this.publishWithRetry(subject, Buffer.from(JSON.stringify(event)), seq, h);
      this.seq = seq;
      this.lastStreamSeq = ack.seq;
      this.stored?.push(event);
      return event;
    } catch (err) {
      if (String(err).includes('wrong last sequence')) {
        // Either our own earlier try of this very publish was stored and its ack got lost (a
        // single-node server checks the expected sequence before duplicates, so a retry lands
        // here), or another writer moved the log on. Only the first is ours to accept: the
        // writer id (worker + delivery) is unique, unlike `attempt`, which two late deliveries
        // can compute alike.
        const last = await this.log.last(this.tenant, this.sid, { fromLeader: true });
        if (last && last.event.seq === seq && last.writer === this.writerId) {
          this.seq = seq;
          this.lastStreamSeq = last.streamSeq;
          this.stored?.push(last.event);
          return last.event;
        }
        // Or the user answered one of this turn's questions while we were still writing our way
        // back to it (a rerun): a gateway appended that `input`. It is not a rival writer.
        if (await this.adoptAnswers(seq - 1)) return this.store(draft, tokens);
        this.fenced = new FencedError(this.sid, seq, err);
        throw this.fenced;
      }
      throw err;
    }
  }

  /**
   * Publishes, retrying through broker outages and failovers (timeouts, no responders, "JetStream
   * system temporarily unavailable" while a new stream leader is elected, reconnects) until
   * `retryForMs` passes. Every error but a refused expected sequence is retried: retries are safe,
   * the msg id and the expected sequence make a retry either store the event once or be refused.
   */
  private async publishWithRetry(subject: string, data: Uint8Array, seq: number, h: WireHeaders) {
    const deadline = Date.now() + this.retryForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.js.publish(subject, data, {
          msgID: eventMsgId(this.sid, seq, this.writerId),
          headers: h,
          expect: { lastSubjectSequence: this.lastStreamSeq },
          timeout: 5_000,
        });
      } catch (err) {
        if (String(err).includes('wrong last sequence')) throw err;
        // Out of space: not an outage that ends by itself within a minute. Keep the turn (and its
        // job) and wait for space instead of giving up: a turn handed back would be redelivered
        // into the same full store until it counted as a poison job.
        if (isStorageFull(err)) {
          this.onStorageFull?.(attempt === 0);
          await new Promise((r) => setTimeout(r, 1_000));
          continue;
        }
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
  }

  /** A question of this turn: a gateway's `input` answering it is not a rival writer. */
  expectAnswer(requestId: string): void {
    this.expectedAnswers.add(requestId);
  }

  /** The answer to `requestId` that a refused write found after its position and adopted. */
  adoptedAnswer(requestId: string): string | undefined {
    return this.adopted.get(requestId);
  }

  /** Calls `listener` with each answer a refused write adopts; returns the unsubscribe. */
  onAdopt(listener: (requestId: string, text: string) => void): () => void {
    this.adoptListeners.add(listener);
    return () => this.adoptListeners.delete(listener);
  }

  /**
   * After a refused write that assumed the log ended at `position`: if everything after our
   * position is `input` events answering this turn's questions, in seq order, takes them as the
   * new end of the log and says so. `position` is the refused write's, not `this.seq`: the input
   * broker may have adopted the answer (`adopt`) while that write was in flight, and then the
   * position has moved with nothing left to read, which means the same: write again after it.
   */
  private async adoptAnswers(position: number): Promise<boolean> {
    const stored: StoredEvent[] = [];
    for await (const e of this.log.readAfter(this.tenant, this.sid, this.seq, this.lastStreamSeq + 1))
      stored.push(e);
    // The input broker may have taken the answer it waits for meanwhile (`adopt`): skip what is
    // already ours. Nothing left but a moved position means: write again after it.
    const after = stored.filter((e) => e.streamSeq > this.lastStreamSeq);
    if (after.length === 0) return this.seq > position;
    const answers: { seq: number; streamSeq: number; requestId: string; text: string }[] = [];
    for (const e of after) {
      let ev: ReturnType<typeof InputEvent.safeParse> | undefined;
      try {
        ev = InputEvent.safeParse(JSON.parse(decoder.decode(e.data)));
      } catch {
        return false;
      }
      if (!ev.success || e.seq !== this.seq + 1 + answers.length) return false;
      if (!this.expectedAnswers.has(ev.data.requestId)) return false;
      answers.push({ seq: e.seq, streamSeq: e.streamSeq, requestId: ev.data.requestId, text: ev.data.text });
    }
    this.stored = null;
    for (const a of answers) {
      this.seq = a.seq;
      this.lastStreamSeq = a.streamSeq;
      this.adopted.set(a.requestId, a.text);
      for (const l of this.adoptListeners) l(a.requestId, a.text);
    }
    return true;
  }

  /**
   * Accepts an event another party appended on purpose (a user's `input`, written by a gateway
   * while this writer waited for it) as the new end of the log.
   */
  adopt(seq: number, streamSeq: number): void {
    if (seq !== this.seq + 1) throw new Error(`adopt: seq ${seq} does not follow ${this.seq}`);
    this.stored = null;
    this.seq = seq;
    this.lastStreamSeq = streamSeq;
  }
}
