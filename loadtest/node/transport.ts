import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { CentrifugoTransport } from './centrifugo-transport.js';

/** A decoded event or reply, as the load client needs it (never validated: we measure, not trust). */
export interface WireFrame {
  type: string;
  sid?: string;
  seq?: number;
  ts?: number;
  prevPos?: number;
  text?: string;
  op?: string;
  ok?: boolean;
  lastSeq?: number;
  error?: { code: string; message: string };
}

export interface StartRequest {
  sid: string;
  input: string;
  options: Record<string, number>;
}

/** One client connection, whatever the server: the fabric, the Socket.IO baseline or raw uWS. */
export interface LoadTransport {
  /** Connects; resolves once the server greeted us. */
  open(): Promise<void>;
  start(req: StartRequest): void;
  /** `pos`: the resume hint (the `prevPos` of the event `after`), when known. */
  resume(sid: string, after: number, pos?: number): void;
  unsubscribe(sid: string): void;
  /** Drops the TCP connection without a close handshake (a lost network). */
  drop(): void;
  close(): void;
  onFrame: (f: WireFrame) => void;
  onClose: () => void;
}

export type TransportKind = 'fabric' | 'socketio' | 'centrifugo';

/**
 * The fabric's WebSocket protocol (also spoken by the raw uWS baseline): JSON frames,
 * `start` / `resume` / `unsubscribe`, events as JSON text frames.
 */
export class FabricTransport implements LoadTransport {
  private ws: WebSocket | null = null;
  onFrame: (f: WireFrame) => void = () => undefined;
  onClose: () => void = () => undefined;

  constructor(private readonly url: string) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, ['streamfabric.v1'], { perMessageDeflate: false });
      this.ws = ws;
      let greeted = false;
      ws.on('message', (d: Buffer) => {
        const f = JSON.parse(d.toString()) as WireFrame;
        if (!greeted && f.type === 'welcome') {
          greeted = true;
          resolve();
          return;
        }
        this.onFrame(f);
      });
      ws.once('error', (err) => {
        if (!greeted) reject(err);
      });
      ws.once('close', () => {
        if (!greeted) reject(new Error('closed before welcome'));
        else this.onClose();
      });
    });
  }

  private send(frame: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }
  start(req: StartRequest): void {
    this.send({ type: 'start', id: req.sid, sid: req.sid, input: req.input, options: req.options });
  }
  resume(sid: string, after: number, pos?: number): void {
    this.send({ type: 'resume', id: sid, sid, after, ...(pos !== undefined && after > 0 ? { pos } : {}) });
  }
  unsubscribe(sid: string): void {
    this.send({ type: 'unsubscribe', sid });
  }
  drop(): void {
    this.ws?.terminate();
  }
  close(): void {
    this.ws?.close();
  }
}

/**
 * The Socket.IO baseline's protocol: `start` with an ack, events as `ev` messages carrying the
 * event JSON, `unsubscribe` to leave the session's room. WebSocket transport only (no polling).
 */
export class SocketIoTransport implements LoadTransport {
  private socket: Socket | null = null;
  onFrame: (f: WireFrame) => void = () => undefined;
  onClose: () => void = () => undefined;

  constructor(private readonly url: string) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = io(this.url, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: 30_000,
      });
      this.socket = s;
      let up = false;
      s.on('ev', (data: string) => this.onFrame(JSON.parse(data) as WireFrame));
      s.once('connect', () => {
        up = true;
        resolve();
      });
      s.once('connect_error', (err) => {
        if (!up) reject(err);
      });
      s.once('disconnect', () => {
        if (up) this.onClose();
      });
    });
  }

  start(req: StartRequest): void {
    this.socket?.emit('start', req, (r: { ok: boolean; sid: string; error?: WireFrame['error'] }) =>
      this.onFrame({ type: 'reply', op: 'start', ...r }),
    );
  }
  resume(): void {
    throw new Error('the Socket.IO baseline has no resume');
  }
  unsubscribe(sid: string): void {
    this.socket?.emit('unsubscribe', sid);
  }
  drop(): void {
    // Closest to a lost network Socket.IO allows: close the engine's socket without a goodbye.
    this.socket?.io.engine?.close();
  }
  close(): void {
    this.socket?.close();
  }
}

/** `startUrl`: where sessions are started when that is not the socket's server (Centrifugo's publisher). */
export function createTransport(kind: TransportKind, url: string, startUrl?: string): LoadTransport {
  if (kind === 'centrifugo') {
    if (!startUrl) throw new Error('the centrifugo transport needs the publisher start URL');
    return new CentrifugoTransport(url, startUrl);
  }
  return kind === 'socketio' ? new SocketIoTransport(url) : new FabricTransport(url);
}

/** The transport of stream `index` of a load profile (streams are spread over its URLs). */
export function createTransportFor(
  p: { kind: TransportKind; urls: string[]; startUrls?: string[] },
  index: number,
): LoadTransport {
  const startUrl = p.startUrls?.[index % p.startUrls.length];
  return createTransport(p.kind, p.urls[index % p.urls.length]!, startUrl);
}
