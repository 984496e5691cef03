import { Centrifuge, type StreamPosition, type Subscription } from 'centrifuge';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { CENTRIFUGO_HMAC_SECRET, sessionChannel } from '../baselines/centrifugo-setup.js';
import type { LoadTransport, StartRequest, WireFrame } from './transport.js';

/**
 * Last stream position (epoch + offset) seen per session, in this load-client process. The
 * centrifuge client keeps this inside its Subscription and recovers from it on its own
 * reconnects; the load client replaces a dropped connection with a new client, so the position
 * has to outlive the old one. Recovery then works as the library's own: subscribe `since` it.
 */
const positions = new Map<string, StreamPosition>();
const secret = new TextEncoder().encode(CENTRIFUGO_HMAC_SECRET);
let userCounter = 0;

/**
 * The Centrifugo peer, through the official `centrifuge` JS client (JSON protocol over `ws`):
 * `start` = subscribe to the session's channel, then ask the app backend (the publisher) to run
 * the model; `resume` = subscribe with recovery from the last seen position. Events are the
 * publications' data (the same JSON events, with our own `seq`, so the same checker judges them).
 */
export class CentrifugoTransport implements LoadTransport {
  private client: Centrifuge | null = null;
  private readonly subs = new Map<string, Subscription>();
  onFrame: (f: WireFrame) => void = () => undefined;
  onClose: () => void = () => undefined;

  constructor(
    private readonly url: string,
    private readonly startUrl: string,
  ) {}

  async open(): Promise<void> {
    // The connection token the app's backend would issue (HMAC JWT, `sub` = the user).
    const token = await new SignJWT({ sub: `bench-${process.pid}-${++userCounter}` })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(secret);
    const client = new Centrifuge(this.url, { websocket: WebSocket, token, timeout: 30_000 });
    this.client = client;
    await new Promise<void>((resolve, reject) => {
      let up = false;
      client.on('connected', () => {
        up = true;
        resolve();
      });
      client.on('disconnected', (ctx) => {
        if (!up) reject(new Error(`centrifugo: ${ctx.code} ${ctx.reason}`));
      });
      client.on('connecting', () => {
        // A lost connection after we were up: hand it to the load client, which reconnects and
        // resumes the way it does for every target (the library would do the same by itself).
        if (!up) return;
        up = false;
        client.disconnect();
        this.onClose();
      });
      client.connect();
    });
  }

  private subscribe(sid: string, op: 'start' | 'resume', since?: StreamPosition, then?: () => void): void {
    const client = this.client;
    if (!client) return;
    const channel = sessionChannel(sid);
    const old = client.getSubscription(channel);
    if (old) client.removeSubscription(old);
    const sub = client.newSubscription(channel, since ? { since } : {});
    this.subs.set(sid, sub);
    sub.on('publication', (ctx) => {
      if (ctx.offset !== undefined && sub.state === 'subscribed') {
        const p = positions.get(sid);
        if (p) p.offset = ctx.offset;
      }
      this.onFrame(ctx.data as WireFrame);
    });
    let answered = false;
    sub.on('subscribed', (ctx) => {
      if (ctx.streamPosition) positions.set(sid, { ...ctx.streamPosition });
      if (answered) return;
      answered = true;
      if (op === 'resume' && ctx.wasRecovering && !ctx.recovered) {
        // History no longer holds the position (expired, or lost with the memory engine).
        this.onFrame({
          type: 'reply',
          op,
          ok: false,
          sid,
          error: { code: 'unrecoverable_position', message: 'centrifugo could not recover the stream' },
        });
        return;
      }
      // Recovered publications follow this event: everything up to the current top is replay.
      this.onFrame({ type: 'reply', op, ok: true, sid, lastSeq: ctx.streamPosition?.offset ?? 0 });
      then?.();
    });
    sub.on('error', (ctx) => {
      if (answered) return;
      answered = true;
      this.onFrame({
        type: 'reply',
        op,
        ok: false,
        sid,
        error: { code: `centrifugo_${ctx.error.code}`, message: ctx.error.message },
      });
    });
    sub.subscribe();
  }

  start(req: StartRequest): void {
    // Subscribe first, so no event is published before anyone listens, then start the model.
    this.subscribe(req.sid, 'start', undefined, () => {
      void fetch(this.startUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sid: req.sid, options: req.options }),
      }).then(
        async (r) => {
          if (!r.ok) {
            const body = (await r.json().catch(() => ({}))) as { error?: WireFrame['error'] };
            this.onFrame({ type: 'reply', op: 'start', ok: false, sid: req.sid, error: body.error });
          }
        },
        () =>
          this.onFrame({
            type: 'reply',
            op: 'start',
            ok: false,
            sid: req.sid,
            error: { code: 'publisher_unreachable', message: 'start failed' },
          }),
      );
    });
  }

  resume(sid: string): void {
    const since = positions.get(sid);
    this.subscribe(sid, 'resume', since ? { ...since } : { offset: 0, epoch: '' });
  }

  unsubscribe(sid: string): void {
    const sub = this.subs.get(sid);
    this.subs.delete(sid);
    positions.delete(sid);
    if (sub) {
      sub.removeAllListeners();
      this.client?.removeSubscription(sub);
    }
  }

  drop(): void {
    // A lost network, as the fabric's drop: the socket goes without a close frame. The client
    // keeps its ws in `_transport._transport` (not public API: benchmark-only reach-in; if it
    // ever moves, this degrades to a clean disconnect). disconnect() then stops the library from
    // reconnecting by itself: the load client reconnects and resumes.
    const c = this.client;
    if (!c) return;
    c.removeAllListeners();
    (c as unknown as { _transport?: { _transport?: WebSocket } })._transport?._transport?.terminate?.();
    c.disconnect();
  }

  close(): void {
    this.client?.removeAllListeners();
    this.client?.disconnect();
  }
}
