import type { Logger } from '../../../shared/logging/logger.js';
import { sessionPartitions } from '../../../shared/nats/subjects.js';
import {
  CLIENT_FRAME_TYPES,
  ClientFrame,
  type ErrorBody,
  errorBody,
  type ReplyFrame,
  RequestId,
  SessionId,
} from '../../../shared/protocol/index.js';
import type { EventSink } from '../fanout/event-sink.js';
import type { FanoutHub } from '../fanout/fanout-hub.js';
import type { SessionSubscription } from '../fanout/session-subscription.js';
import { FrameRateGuard, type FrameRateLimits } from '../limits/frame-rate-guard.js';
import type { Connection } from '../transport/connection.js';
import type { Principal, SessionService } from './session-service.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export interface ClientConnectionLimits {
  maxSessionsPerConnection: number;
  /** High-water mark of the socket's send buffer (MAX_BACKPRESSURE_BYTES): above it sessions pause. */
  maxBackpressureBytes: number;
  /** Frames per second (token bucket); unset = unlimited. */
  rate?: FrameRateLimits;
}

/** What a connection reports for metrics; one shared object for all connections (no per-socket closures). */
export interface ConnectionObserver {
  /** A request was answered with a typed error. */
  error(code: string): void;
  started(): void;
  /** A resume was answered: `ok` or the error code. */
  resumed(outcome: string): void;
  /** Seconds from a start request to the first event of that session sent to this client. */
  firstEvent(seconds: number): void;
}

/**
 * The protocol state of one WebSocket: parses every frame with zod, answers with typed
 * replies, and owns the connection's session subscriptions. Bad input is answered, never
 * thrown: the connection and its other sessions keep working.
 */
export class ClientConnection implements EventSink {
  private readonly subs = new Map<string, SessionSubscription>();
  /** Subscriptions of resumes still being authorised (their events held in a {@link GatedSink}). */
  private readonly pending = new Set<SessionSubscription>();
  private readonly rate: FrameRateGuard | null;

  constructor(
    private readonly conn: Connection<Principal>,
    private readonly hub: FanoutHub,
    private readonly sessions: SessionService,
    private readonly limits: ClientConnectionLimits,
    private readonly log: Logger,
    private readonly observer: ConnectionObserver,
  ) {
    this.rate = limits.rate ? new FrameRateGuard(limits.rate) : null;
  }

  get closed(): boolean {
    return this.conn.closed;
  }

  get sessionCount(): number {
    return this.subs.size;
  }

  get writable(): boolean {
    return !this.conn.closed && this.conn.bufferedAmount() < this.limits.maxBackpressureBytes;
  }

  send(data: Uint8Array | string): boolean {
    return this.conn.send(data);
  }

  fail(sid: string, code: 'expired' | 'unavailable' | 'internal' | 'log_rewritten', message: string): void {
    // Release the hub's side too, or the feed (and its upstream subscription) would leak.
    const s = this.subs.get(sid);
    if (s) this.hub.unsubscribe(this.conn.ctx.tenant, s);
    this.subs.delete(sid);
    this.reply({ type: 'reply', op: 'resume', ok: false, sid, error: errorBody(code, message) });
  }

  /**
   * The socket drained some bytes: paused subscriptions continue from the log once the buffer is
   * below half the mark (uWS calls drain on every writable event, down to an empty buffer), so a
   * slow reader is served in large catch-up reads rather than one log read per few frames.
   */
  drained(): void {
    if (this.conn.bufferedAmount() > this.limits.maxBackpressureBytes / 2) return;
    for (const s of this.subs.values()) s.resume();
  }

  /** Handles one raw frame from the socket. */
  handle(data: ArrayBuffer, isBinary: boolean): void {
    // Checked before any parsing, so a flood costs one bucket update per frame.
    const verdict = this.rate?.check();
    if (verdict && verdict.action !== 'accept') {
      if (verdict.action === 'close') {
        this.observer.error('rate_limited');
        this.conn.close(verdict.code, verdict.reason);
      } else this.reject(undefined, undefined, verdict.error);
      return;
    }
    if (isBinary) {
      this.reject(
        undefined,
        undefined,
        errorBody('bad_frame', 'binary frames are not supported; send JSON text'),
      );
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(data));
    } catch {
      this.reject(undefined, undefined, errorBody('bad_frame', 'frame is not valid UTF-8 JSON'));
      return;
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      this.reject(undefined, undefined, errorBody('bad_frame', 'frame must be a JSON object'));
      return;
    }
    const raw = json as { type?: unknown; id?: unknown };
    // Echo only an id the protocol allows, so every reply parses with the client's schema.
    const id = RequestId.safeParse(raw.id).success ? (raw.id as ReplyFrame['id']) : undefined;
    const op = typeof raw.type === 'string' ? raw.type : 'unknown';
    if (!CLIENT_FRAME_TYPES.includes(op as never)) {
      const expected = CLIENT_FRAME_TYPES.join(', ');
      this.reject(
        id,
        op,
        errorBody('unknown_type', `unknown frame type "${op.slice(0, 40)}"; expected one of ${expected}`),
      );
      return;
    }
    const parsed = ClientFrame.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Name the session when the frame did (a start with bad options): the client fails that session.
      const sid = SessionId.safeParse((json as { sid?: unknown }).sid);
      this.reject(
        id,
        op,
        errorBody('invalid_argument', `${issue?.path.join('.') || op}: ${issue?.message ?? 'invalid'}`),
        sid.success ? sid.data : undefined,
      );
      return;
    }
    const frame = parsed.data;
    void this.dispatch(frame).catch((err: unknown) => {
      // Name the session: a client can only retry (or fail) the session the refusal is about.
      const sid = 'sid' in frame ? frame.sid : undefined;
      this.log.error({ err, op, sid }, 'frame handler failed');
      this.reject(id, op, errorBody('unavailable', 'the gateway could not complete the request; retry'), sid);
    });
  }

  private async dispatch(f: ClientFrame): Promise<void> {
    const p = this.conn.ctx;
    switch (f.type) {
      case 'ping':
        this.conn.send(JSON.stringify({ type: 'pong', id: f.id, ts: Date.now() }));
        return;
      case 'start': {
        if (this.subs.size >= this.limits.maxSessionsPerConnection) {
          this.reject(
            f.id,
            'start',
            errorBody(
              'too_many_sessions',
              `at most ${this.limits.maxSessionsPerConnection} sessions per connection`,
            ),
            f.sid,
          );
          return;
        }
        const t0 = performance.now();
        const onFirst = () => this.observer.firstEvent((performance.now() - t0) / 1000);
        // With the client's session id, following starts with the start itself: the live
        // subscription and the log read overlap the writes, and the first events wait in a gate
        // until the reply (never sent if the start is refused, e.g. someone else's session id).
        const early = f.sid && !this.subs.has(f.sid) ? this.followGated(f.sid, 0, undefined, onFirst) : null;
        // The early read used the partition layout known before the registry lookup; a lookup that
        // found the session under an earlier layout (docs/partitions.md) makes it read elsewhere.
        const earlyLayout = f.sid ? sessionPartitions(f.sid) : 0;
        let r: Awaited<ReturnType<SessionService['start']>>;
        try {
          r = await this.sessions.start(p, f);
        } catch (err) {
          if (early) this.dropGated(early);
          throw err;
        }
        if (!r.ok) {
          if (early) this.dropGated(early);
          return this.reject(f.id, 'start', r.error, f.sid);
        }
        this.observer.started();
        this.log.info({ sid: r.value.sid, agent: f.agent, created: r.value.created }, 'session started');
        const { queueReason } = r.value;
        this.reply({
          type: 'reply',
          id: f.id,
          op: 'start',
          ok: true,
          sid: r.value.sid,
          ...(queueReason ? { queueReason } : {}),
        });
        if (early) {
          this.pending.delete(early.sub);
          if (
            !this.conn.closed &&
            !this.subs.has(r.value.sid) &&
            sessionPartitions(r.value.sid) === earlyLayout
          ) {
            this.subs.set(r.value.sid, early.sub);
            early.gate.open();
            return;
          }
          this.dropGated(early);
        }
        this.follow(r.value.sid, 0, onFirst);
        return;
      }
      case 'resume': {
        if (!this.subs.has(f.sid) && this.subs.size >= this.limits.maxSessionsPerConnection) {
          this.reject(
            f.id,
            'resume',
            errorBody(
              'too_many_sessions',
              `at most ${this.limits.maxSessionsPerConnection} sessions per connection`,
            ),
            f.sid,
          );
          return;
        }
        // The log read starts while the resume is authorised (one round trip instead of two before
        // the first missed event): its events wait in a gate, and reach the socket only after the
        // reply, or never when the resume is refused. Not for a snapshot resume (it starts from the
        // snapshot) nor a session this socket already follows (its events must not come twice).
        const early = f.snapshot || this.subs.has(f.sid) ? null : this.followGated(f.sid, f.after, f.pos);
        const earlyLayout = sessionPartitions(f.sid);
        let r: Awaited<ReturnType<SessionService['authorizeResume']>>;
        try {
          r = await this.sessions.authorizeResume(p, f.sid, f.after, {
            ...(f.epoch !== undefined ? { epoch: f.epoch } : {}),
            ...(f.pos !== undefined ? { pos: f.pos } : {}),
          });
        } catch (err) {
          if (early) this.dropGated(early);
          throw err;
        }
        this.observer.resumed(r.ok ? 'ok' : r.error.code);
        if (!r.ok) {
          if (early) this.dropGated(early);
          return this.reject(f.id, 'resume', r.error, f.sid);
        }
        const resumed = {
          type: 'reply',
          id: f.id,
          op: 'resume',
          ok: true,
          sid: f.sid,
          lastSeq: r.value.lastSeq,
        } as const;
        if (early && sessionPartitions(f.sid) !== earlyLayout) {
          // Found under an earlier partition layout: the early read looked in the wrong stream.
          this.pending.delete(early.sub);
          this.dropGated(early);
        } else if (early) {
          this.pending.delete(early.sub);
          if (this.conn.closed || this.subs.has(f.sid)) {
            // Closed meanwhile, or a second resume of the session won the race: this one stands down.
            this.dropGated(early);
            if (this.conn.closed) return;
          } else {
            this.reply(resumed);
            this.subs.set(f.sid, early.sub);
            early.gate.open();
            return;
          }
        }
        // From a snapshot: the reply carries the conversation up to snap.seq, then events follow
        // from snap.seq + 1 (read from its stream position), so every later event arrives once.
        const snap = f.snapshot ? await this.sessions.resumeSnapshot(p, f.sid, f.after) : null;
        this.log.debug(
          { sid: f.sid, after: f.after, lastSeq: r.value.lastSeq, snapshotSeq: snap?.seq },
          'session resumed',
        );
        this.reply(snap ? { ...resumed, conversation: snap.conversation } : resumed);
        if (snap) this.follow(f.sid, snap.seq, undefined, snap.streamSeq);
        else this.follow(f.sid, f.after, undefined, f.pos);
        return;
      }
      case 'cancel': {
        const r = await this.sessions.cancel(p, f.sid);
        if (!r.ok) return this.reject(f.id, 'cancel', r.error, f.sid);
        this.log.info({ sid: f.sid }, 'session cancel requested');
        this.reply({ type: 'reply', id: f.id, op: 'cancel', ok: true, sid: f.sid });
        return;
      }
      case 'message': {
        const r = await this.sessions.message(p, f);
        if (!r.ok) {
          this.reject(f.id, 'message', r.error, f.sid);
          return;
        }
        const { turn, queueReason } = r.value;
        this.reply({
          type: 'reply',
          id: f.id,
          op: 'message',
          ok: true,
          sid: f.sid,
          turn,
          ...(queueReason ? { queueReason } : {}),
        });
        // Make sure this connection follows the session (it may be a second device).
        if (!this.subs.has(f.sid)) this.follow(f.sid, 0);
        return;
      }
      case 'input': {
        const r = await this.sessions.input(p, f);
        if (!r.ok) {
          this.reject(f.id, 'input', r.error, f.sid);
          return;
        }
        this.reply({ type: 'reply', id: f.id, op: 'input', ok: true, sid: f.sid });
        return;
      }
      case 'delete': {
        const r = await this.sessions.delete(p, f.sid);
        if (!r.ok) {
          this.reject(f.id, 'delete', r.error, f.sid);
          return;
        }
        const s = this.subs.get(f.sid);
        if (s) this.hub.unsubscribe(p.tenant, s);
        this.subs.delete(f.sid);
        this.reply({ type: 'reply', id: f.id, op: 'delete', ok: true, sid: f.sid });
        return;
      }
      case 'get_metrics': {
        const r = await this.sessions.status(p, f.sid);
        if (!r.ok) {
          this.reject(f.id, 'get_metrics', r.error, f.sid);
          return;
        }
        const delivered = this.subs.get(f.sid)?.position ?? null;
        const lag = delivered === null ? null : Math.max(0, r.value.lastSeq - delivered);
        this.reply({
          type: 'reply',
          id: f.id,
          op: 'get_metrics',
          ok: true,
          sid: f.sid,
          metrics: { ...r.value, delivered, lag },
        });
        return;
      }
      case 'unsubscribe': {
        const s = this.subs.get(f.sid);
        if (s) this.hub.unsubscribe(p.tenant, s);
        this.subs.delete(f.sid);
        this.reply({ type: 'reply', id: f.id, op: 'unsubscribe', ok: true, sid: f.sid });
        return;
      }
    }
  }

  private follow(sid: string, after: number, onFirst?: () => void, pos?: number): void {
    if (this.conn.closed) return;
    const existing = this.subs.get(sid);
    if (existing) this.hub.unsubscribe(this.conn.ctx.tenant, existing);
    this.subs.set(sid, this.hub.subscribe(this.conn.ctx.tenant, sid, after, this, onFirst, pos));
  }

  /** A subscription whose events are held in a gate until {@link GatedSink.open}. */
  private followGated(
    sid: string,
    after: number,
    pos?: number,
    onFirst?: () => void,
  ): { sub: SessionSubscription; gate: GatedSink } {
    const gate = new GatedSink(this);
    const sub = this.hub.subscribe(this.conn.ctx.tenant, sid, after, gate, onFirst, pos);
    gate.subscription = sub;
    this.pending.add(sub);
    return { sub, gate };
  }

  private dropGated(g: { sub: SessionSubscription; gate: GatedSink }): void {
    this.pending.delete(g.sub);
    g.gate.discard();
    this.hub.unsubscribe(this.conn.ctx.tenant, g.sub);
  }

  /** Releases every subscription when the socket closes. */
  dispose(): void {
    for (const s of this.subs.values()) this.hub.unsubscribe(this.conn.ctx.tenant, s);
    for (const s of this.pending) this.hub.unsubscribe(this.conn.ctx.tenant, s);
    this.subs.clear();
    this.pending.clear();
  }

  private reply(frame: ReplyFrame): void {
    this.conn.send(JSON.stringify(frame));
  }

  private reject(id: ReplyFrame['id'], op: string | undefined, error: ErrorBody, sid?: string): void {
    this.observer.error(error.code);
    this.reply({
      type: 'reply',
      ...(id !== undefined ? { id } : {}),
      op: op ?? 'unknown',
      ok: false,
      ...(sid ? { sid } : {}),
      error,
    });
  }
}

/** Most bytes a gate holds before its subscription pauses (it continues from the log once open). */
const GATE_MAX_BYTES = 256 * 1024;

/**
 * Holds a resuming subscription's first events until the resume is authorised, then hands them
 * to the connection in order and steps aside. Nothing reaches the socket before `open()`; a
 * refused resume discards what was read. A failure (e.g. `expired`) seen while gated is reported
 * after the reply, where the catch-up would have reported it.
 */
class GatedSink implements EventSink {
  subscription: SessionSubscription | undefined;
  private held: Uint8Array[] | null = [];
  private heldBytes = 0;
  private failure: Parameters<EventSink['fail']> | null = null;
  private discarded = false;

  constructor(private readonly target: ClientConnection) {}

  get closed(): boolean {
    return this.discarded || this.target.closed;
  }

  get writable(): boolean {
    if (this.held) return !this.closed && this.heldBytes < GATE_MAX_BYTES;
    return this.target.writable;
  }

  send(data: Uint8Array): boolean {
    if (!this.held) return this.target.send(data);
    // A NATS payload is a view of the connection's read buffer: keep a copy, not the buffer.
    this.held.push(data.slice());
    this.heldBytes += data.length;
    return this.heldBytes < GATE_MAX_BYTES;
  }

  fail(sid: string, code: Parameters<EventSink['fail']>[1], message: string): void {
    if (this.held) this.failure = [sid, code, message];
    else this.target.fail(sid, code, message);
  }

  /** The resume was answered: deliver what was held, then pass everything straight through. */
  open(): void {
    const held = this.held ?? [];
    this.held = null;
    let ok = true;
    for (const data of held) ok = this.target.send(data) && ok;
    if (this.failure) {
      const [sid, code, message] = this.failure;
      this.failure = null;
      this.target.fail(sid, code, message);
      return;
    }
    // Paused at the gate's limit (or by a full socket): continue from the log when there is room.
    if (ok && this.target.writable) this.subscription?.resume();
  }

  discard(): void {
    this.discarded = true;
    this.held = null;
  }
}
