import type { Logger } from '../../../shared/logging/logger.js';
import {
  CLIENT_FRAME_TYPES,
  ClientFrame,
  type ErrorBody,
  errorBody,
  type ReplyFrame,
} from '../../../shared/protocol/index.js';
import type { EventSink } from '../fanout/event-sink.js';
import type { FanoutHub } from '../fanout/fanout-hub.js';
import type { SessionSubscription } from '../fanout/session-subscription.js';
import type { Connection } from '../transport/connection.js';
import type { Principal, SessionService } from './session-service.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export interface ClientConnectionLimits {
  maxSessionsPerConnection: number;
  /** High-water mark of the socket's send buffer (MAX_BACKPRESSURE_BYTES): above it sessions pause. */
  maxBackpressureBytes: number;
}

/**
 * The protocol state of one WebSocket: parses every frame with zod, answers with typed
 * replies, and owns the connection's session subscriptions. Bad input is answered, never
 * thrown: the connection and its other sessions keep working.
 */
export class ClientConnection implements EventSink {
  private readonly subs = new Map<string, SessionSubscription>();

  constructor(
    private readonly conn: Connection<Principal>,
    private readonly hub: FanoutHub,
    private readonly sessions: SessionService,
    private readonly limits: ClientConnectionLimits,
    private readonly log: Logger,
    private readonly onFrameError: (code: string) => void,
  ) {}

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

  fail(sid: string, code: 'expired' | 'unavailable' | 'internal', message: string): void {
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
    const id = typeof raw.id === 'string' || typeof raw.id === 'number' ? raw.id : undefined;
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
      this.reject(
        id,
        op,
        errorBody('invalid_argument', `${issue?.path.join('.') || op}: ${issue?.message ?? 'invalid'}`),
      );
      return;
    }
    const frame = parsed.data;
    void this.dispatch(frame).catch((err: unknown) => {
      this.log.error({ err, op }, 'frame handler failed');
      // Name the session: a client can only retry (or fail) the session the refusal is about.
      const sid = 'sid' in frame ? frame.sid : undefined;
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
        const r = await this.sessions.start(p, f);
        if (!r.ok) return this.reject(f.id, 'start', r.error, f.sid);
        this.reply({ type: 'reply', id: f.id, op: 'start', ok: true, sid: r.value.sid });
        this.follow(r.value.sid, 0);
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
        const r = await this.sessions.authorizeResume(p, f.sid, f.after);
        if (!r.ok) return this.reject(f.id, 'resume', r.error, f.sid);
        this.reply({ type: 'reply', id: f.id, op: 'resume', ok: true, sid: f.sid, lastSeq: r.value.lastSeq });
        this.follow(f.sid, f.after);
        return;
      }
      case 'cancel': {
        const r = await this.sessions.cancel(p, f.sid);
        if (!r.ok) return this.reject(f.id, 'cancel', r.error, f.sid);
        this.reply({ type: 'reply', id: f.id, op: 'cancel', ok: true, sid: f.sid });
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

  private follow(sid: string, after: number): void {
    if (this.conn.closed) return;
    const existing = this.subs.get(sid);
    if (existing) this.hub.unsubscribe(this.conn.ctx.tenant, existing);
    this.subs.set(sid, this.hub.subscribe(this.conn.ctx.tenant, sid, after, this));
  }

  /** Releases every subscription when the socket closes. */
  dispose(): void {
    for (const s of this.subs.values()) this.hub.unsubscribe(this.conn.ctx.tenant, s);
    this.subs.clear();
  }

  private reply(frame: ReplyFrame): void {
    this.conn.send(JSON.stringify(frame));
  }

  private reject(id: ReplyFrame['id'], op: string | undefined, error: ErrorBody, sid?: string): void {
    this.onFrameError(error.code);
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
