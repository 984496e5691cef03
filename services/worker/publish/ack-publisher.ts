import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import type { WireHeaders } from './wire-headers.js';

/** Publish options of a session event (the `js.publish` options the session writer uses). */
export interface EventPublishOptions {
  msgID: string;
  headers: WireHeaders;
  expect: { lastSubjectSequence: number };
  timeout: number;
}

/** What the session writer publishes through: a JetStream publish that resolves with the PubAck. */
export interface EventPublisher {
  publish(subject: string, data: Uint8Array, opts: EventPublishOptions): Promise<{ seq: number }>;
}

interface Waiter {
  resolve: (ack: { seq: number }) => void;
  reject: (err: Error) => void;
  deadline: number;
}

const decoder = new TextDecoder();
const SWEEP_MS = 250;
/** Least time between two batches of publishes while busy (ms): what a write may wait at most. */
const BATCH_GAP_MS = 2;

/** `{"stream":` : how every successful PubAck starts (an error response starts with `{"error":`). */
const ACK_PREFIX = Buffer.from('{"stream":');
const SEQ_KEY = Buffer.from('"seq":');

/**
 * The stream sequence of a successful PubAck (`{"stream":"S","seq":N,...}`), read from its bytes
 * without decoding or JSON-parsing them; undefined for anything else (errors take the slow path).
 */
export function ackSeq(data: Uint8Array): number | undefined {
  if (data.length < ACK_PREFIX.length + SEQ_KEY.length) return undefined;
  for (let i = 0; i < ACK_PREFIX.length; i++) if (data[i] !== ACK_PREFIX[i]) return undefined;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const at = buf.indexOf(SEQ_KEY, ACK_PREFIX.length);
  if (at < 0) return undefined;
  let n = 0;
  let digits = 0;
  for (let i = at + SEQ_KEY.length; i < data.length; i++) {
    const c = data[i]!;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits > 0 && digits < 16 ? n : undefined;
}

interface Outgoing {
  subject: string;
  data: Uint8Array;
  headers: WireHeaders;
  token: string;
}

const publishers = new WeakMap<NatsConnection, AckPublisher>();

/** The connection's shared publisher (one reply subscription per connection). */
export function ackPublisherFor(nc: NatsConnection): AckPublisher {
  let p = publishers.get(nc);
  if (!p) {
    p = new AckPublisher(nc);
    publishers.set(nc, p);
  }
  return p;
}

/**
 * JetStream publishes with a PubAck each, pipelined over ONE reply subscription per process.
 * It sends what `js.publish` sends (the same Nats-Msg-Id and Nats-Expected-Last-Subject-Sequence
 * headers, so dedupe and fencing are the server's, unchanged) but skips the per-request
 * machinery: no request object, no timer and no Error objects built per message (in profiles
 * `js.publish` spent more CPU on those than on the publish). Timeouts are found by one sweep.
 * Errors carry the server's description ("wrong last sequence: 41"), as `js.publish` errors do.
 */
export class AckPublisher implements EventPublisher {
  private readonly prefix: string;
  private readonly waiting = new Map<string, Waiter>();
  private next = 0;
  private readonly sweeper: ReturnType<typeof setInterval>;
  /** Publishes of this turn of the event loop, sent together (see `publish`). */
  private outgoing: Outgoing[] = [];
  private readonly sendOutgoing = () => this.send();
  private lastSend = Number.NEGATIVE_INFINITY;

  constructor(private readonly nc: NatsConnection) {
    this.prefix = `${createInbox()}.`;
    nc.subscribe(`${this.prefix}*`, { callback: (_err, m) => this.onAck(m) });
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  publish(subject: string, data: Uint8Array, opts: EventPublishOptions): Promise<{ seq: number }> {
    const token = (this.next++).toString(36);
    opts.headers.set('Nats-Msg-Id', opts.msgID);
    opts.headers.set('Nats-Expected-Last-Subject-Sequence', String(opts.expect.lastSubjectSequence));
    return new Promise((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: Date.now() + opts.timeout });
      // Held until the end of this turn of the event loop, then all go out in one socket write:
      // nats.js flushes at the end of each microtask run, and acks resolving writers' chains one
      // after another made that a write (and a server read) per publish or two.
      if (this.outgoing.length === 0) {
        // Idle (nothing sent for a while): out at the end of this turn of the loop. Busy (a batch
        // went out less than BATCH_GAP_MS ago): wait out the gap, so a stream of acks arriving
        // one socket read at a time is answered by one write per gap, not one per read.
        const since = performance.now() - this.lastSend;
        if (since >= BATCH_GAP_MS) setImmediate(this.sendOutgoing);
        else setTimeout(this.sendOutgoing, Math.ceil(BATCH_GAP_MS - since));
      }
      this.outgoing.push({ subject, data, headers: opts.headers, token });
    });
  }

  private send(): void {
    this.lastSend = performance.now();
    const batch = this.outgoing;
    this.outgoing = [];
    for (const o of batch) {
      try {
        this.nc.publish(o.subject, o.data, { headers: o.headers.asMsgHdrs(), reply: this.prefix + o.token });
      } catch (err) {
        const w = this.waiting.get(o.token);
        this.waiting.delete(o.token);
        w?.reject(err as Error);
      }
    }
  }

  /** Fails every waiting publish (on shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    this.outgoing = [];
    for (const w of this.waiting.values()) w.reject(new Error('publisher closed'));
    this.waiting.clear();
  }

  private onAck(m: Msg): void {
    const token = m.subject.slice(this.prefix.length);
    const w = this.waiting.get(token);
    if (!w) return; // timed out already: the retry carries the same msg id
    this.waiting.delete(token);
    if (m.data.length === 0) {
      const code = m.headers?.code ?? 0;
      w.reject(new Error(code === 503 ? '503 no responders: is the EVENTS stream there?' : `status ${code}`));
      return;
    }
    const seq = ackSeq(m.data);
    if (seq !== undefined) {
      w.resolve({ seq });
      return;
    }
    try {
      const ack = JSON.parse(decoder.decode(m.data)) as {
        seq?: number;
        error?: { code: number; err_code?: number; description: string };
      };
      if (ack.error)
        w.reject(new Error(`${ack.error.description} (err_code ${ack.error.err_code ?? ack.error.code})`));
      else if (typeof ack.seq === 'number') w.resolve({ seq: ack.seq });
      else w.reject(new Error('invalid ack response'));
    } catch {
      w.reject(new Error('invalid ack response'));
    }
  }

  private sweep(): void {
    if (this.waiting.size === 0) return;
    const now = Date.now();
    for (const [token, w] of this.waiting)
      if (w.deadline <= now) {
        this.waiting.delete(token);
        w.reject(new Error('TIMEOUT: no PubAck in time'));
      }
  }
}
