import type { Logger } from '../../../shared/logging/logger.js';
import type { StoredEvent } from '../../../shared/nats/event-log.js';
import type { EventSink } from './event-sink.js';

/** Reads a session's stored events after a seq (the EVENTS stream through direct gets). */
export type ReadAfter = (after: number, fromStreamSeq: number, batch?: number) => AsyncIterable<StoredEvent>;

/** Delivery figures for metrics; called on the hot path, so plain arguments, no objects. */
export interface DeliveryObserver {
  /**
   * `count` events were sent. `producedAtMs` is the producer's timestamp of a live event
   * (undefined for events read back from the log: `replayed`), `tokens` the model tokens they hold.
   */
  delivered(count: number, producedAtMs: number | undefined, tokens: number, replayed: boolean): void;
  paused(): void;
}

/**
 * One client's view of one session: delivers every event after `cursor` exactly once, in
 * order. Live events come from the node's shared upstream subscription; whatever the client
 * has not seen (on resume, after a gap, after backpressure) is read back from the log, so a
 * slow client costs no gateway memory: "the log is the buffer".
 *
 * States: `catchup` (reading the log; live events only raise `liveMax`), `live` (forwarding),
 * `paused` (client buffer full; waits for `resume()`), `closed`.
 */
export class SessionSubscription {
  private state: 'catchup' | 'live' | 'paused' | 'closed' = 'catchup';
  private liveMax = 0;
  /**
   * A fingerprint of the event at `cursor` as delivered (not the bytes: a NATS payload is a view
   * of its whole read buffer, which would stay alive per session): a live event with its seq must match.
   */
  private lastPrint = 0;
  /** True until the first read shows the start hint is not past the events this client needs. */
  private hintUnverified: boolean;

  constructor(
    readonly sid: string,
    private cursor: number,
    /** A stream sequence at or before the event after `cursor`: where the first log read starts. */
    private streamHint: number,
    private readonly sink: EventSink,
    private readonly readAfter: ReadAfter,
    private readonly observer: DeliveryObserver,
    private readonly log: Logger,
    /** Called once, when the first event reaches the sink (time-to-first-token metric). */
    private onFirst?: () => void,
  ) {
    this.hintUnverified = streamHint > 1;
  }

  get position(): number {
    return this.cursor;
  }

  /** Begins delivery: catch up from the log, then follow live events. */
  start(): void {
    void this.catchUp();
  }

  /** A live event from the upstream subscription (already stored: RePublish runs after storage). */
  onLive(seq: number, streamSeq: number, data: Uint8Array, producedAt: number | undefined, tokens = 0): void {
    if (this.state !== 'live') {
      if (seq > this.liveMax) this.liveMax = seq;
      return;
    }
    if (seq <= this.cursor) {
      // A duplicate (already delivered from the log) carries the same stored bytes. Different bytes
      // under the seq the client holds mean the log was lost and written again: say so, never mix.
      if (seq === this.cursor && this.lastPrint !== 0 && fingerprint(data) !== this.lastPrint)
        this.rewritten(seq);
      return;
    }
    if (seq !== this.cursor + 1) {
      // A gap: never silence, resync from the log.
      this.liveMax = Math.max(this.liveMax, seq);
      this.state = 'catchup';
      void this.catchUp();
      return;
    }
    this.deliver(seq, streamSeq, data, producedAt, tokens, false);
  }

  /**
   * Re-checks the log for events the live feed may have missed (after a NATS reconnect, core
   * messages published during the outage are gone): a live subscription catches up again.
   */
  resync(): void {
    if (this.state !== 'live') return;
    this.state = 'catchup';
    void this.verifyThenCatchUp();
  }

  /**
   * After an outage the log may have been lost and written again (a whole-cluster crash): a
   * catch-up from `cursor + 1` would then splice the new log onto the old. So first re-read the
   * event at `cursor` and compare it with what was delivered; a different event is `log_rewritten`.
   * An event not found (aged out, a replica behind) gives no verdict: the catch-up decides.
   */
  private async verifyThenCatchUp(): Promise<void> {
    if (this.lastPrint !== 0 && this.cursor > 0) {
      try {
        const hint = Math.max(1, this.streamHint - 1);
        for (const from of hint > 1 ? [hint, 1] : [1]) {
          let found: StoredEvent | undefined;
          for await (const e of this.readAfter(this.cursor - 1, from, 1)) {
            if (e.seq === this.cursor) found = e;
            break;
          }
          if (!found) continue;
          if (fingerprint(found.data) !== this.lastPrint) return this.rewritten(this.cursor);
          break;
        }
      } catch (err) {
        this.log.warn({ sid: this.sid, err: String(err) }, 'resync check read failed; catching up');
      }
      if (this.state !== 'catchup' || this.sink.closed) return;
    }
    await this.catchUp();
  }

  /** The client's buffer drained: continue from the log where delivery stopped. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'catchup';
    void this.catchUp();
  }

  close(): void {
    this.state = 'closed';
  }

  private deliver(
    seq: number,
    streamSeq: number,
    data: Uint8Array,
    producedAt: number | undefined,
    tokens: number,
    replayed: boolean,
  ): void {
    if (!this.sink.writable) {
      // Full before this event: keep the position on the last event sent; resume() re-reads from it.
      if (!this.sink.closed) this.pause();
      return;
    }
    this.cursor = seq;
    this.lastPrint = fingerprint(data);
    this.streamHint = streamSeq + 1;
    const ok = this.sink.send(data, seq);
    this.observer.delivered(1, producedAt, tokens, replayed);
    if (this.onFirst !== undefined) {
      const first = this.onFirst;
      this.onFirst = undefined;
      first();
    }
    if (!ok && !this.sink.closed) this.pause();
  }

  private rewritten(seq: number): void {
    this.log.warn({ sid: this.sid, seq }, 'log rewritten under a subscriber: it must read again from 0');
    this.state = 'closed';
    this.sink.fail(
      this.sid,
      'log_rewritten',
      `event ${seq} was rewritten after a loss; read the session again from 0`,
    );
  }

  private pause(): void {
    this.state = 'paused';
    this.observer.paused();
  }

  private async catchUp(): Promise<void> {
    try {
      for (let idle = 0; ; ) {
        // `liveMax` only grows: it is the highest seq known to be stored. Never reset it between
        // reads: a read served by a replica behind the leader may stop short of it, and forgetting
        // it would go live with a hole that only a later event could reveal (none after `done`).
        const before = this.cursor;
        let first = true;
        for await (const e of this.readAfter(this.cursor, this.streamHint)) {
          if (this.state === 'closed' || this.sink.closed) return;
          if (this.hintUnverified) {
            // A start hint is right when the first event it yields is at most the one we need.
            if (e.seq > this.cursor + 1) break;
            this.hintUnverified = false;
          }
          if (e.seq !== this.cursor + 1) {
            if (first && e.seq > this.cursor + 1) {
              this.sink.fail(
                this.sid,
                'expired',
                `events ${this.cursor + 1}..${e.seq - 1} are past the retention window`,
              );
              this.state = 'closed';
              return;
            }
            continue;
          }
          first = false;
          this.deliver(e.seq, e.streamSeq, e.data, undefined, e.tokens, true);
          if (this.state === 'paused') return;
        }
        if (this.state === 'closed' || this.sink.closed) return;
        if (this.hintUnverified) {
          // The start hint (a client's `pos`) pointed past the events we need, or past the end:
          // it was wrong, not the log. Read from the session's first event before concluding.
          this.hintUnverified = false;
          this.streamHint = 1;
          continue;
        }
        // Live events that arrived while we read are in the log too: read again until we meet them.
        if (this.liveMax <= this.cursor) {
          this.state = 'live';
          return;
        }
        // Nothing new although the log holds more: a lagging replica answered; back off a little.
        idle = this.cursor === before ? idle + 1 : 0;
        if (idle > 0) await new Promise((r) => setTimeout(r, Math.min(1_000, 25 * 2 ** idle)));
        if (this.state !== 'catchup' || this.sink.closed) return;
      }
    } catch (err) {
      if (this.state === 'closed' || this.sink.closed) return;
      this.log.warn({ sid: this.sid, err: String(err) }, 'catch-up read failed; retrying');
      setTimeout(() => {
        if (this.state === 'catchup') void this.catchUp();
      }, 500);
    }
  }
}

/** FNV-1a over the event's bytes, never 0 (0 = nothing delivered yet); ~0.2 µs for a token event. */
function fingerprint(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ (data[i] as number), 0x01000193);
  return (h >>> 0) | 1;
}
