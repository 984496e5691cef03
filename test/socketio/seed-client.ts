import { io, type Socket } from 'socket.io-client';

/** One event as a seed client saw it, in arrival order. */
export interface Seen {
  name: string;
  payload: unknown;
}

/**
 * A seed-style Socket.IO client (socket.io-client 4.x, as the seed's JS client used) that records
 * every event it receives, and waits for events with a timeout (never a sleep).
 */
export class SeedClient {
  readonly seen: Seen[] = [];
  private waiters: { pred: (s: Seen) => boolean; resolve: (s: Seen) => void }[] = [];

  private constructor(readonly socket: Socket) {
    socket.onAny((name: string, payload: unknown) => this.push({ name, payload }));
    socket.on('connect_error', (err: Error & { data?: unknown }) =>
      this.push({ name: 'connect_error', payload: { message: err.message, data: err.data } }),
    );
  }

  static connect(url: string, opts: Parameters<typeof io>[1] = {}): SeedClient {
    return new SeedClient(io(url, { transports: ['websocket'], reconnection: false, ...opts }));
  }

  emit(name: string, payload?: unknown): void {
    this.log.push({ name: `> ${name}`, payload });
    if (payload === undefined) this.socket.emit(name);
    else this.socket.emit(name, payload);
  }

  /** What the client sent and received, in order ("> name" = sent). */
  readonly log: Seen[] = [];

  /** Resolves with the first event (already seen after `from`, or future) matching `pred`. */
  next(pred: (s: Seen) => boolean, timeoutMs = 30_000, from = 0): Promise<Seen> {
    const hit = this.seen.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for an event; saw ${this.seen.map((s) => s.name).join(',')}`));
      }, timeoutMs).unref();
    });
  }

  named(name: string, timeoutMs?: number): Promise<Seen> {
    return this.next((s) => s.name === name, timeoutMs, this.seen.length);
  }

  /** The `stream_event` payloads of one session seen so far. */
  events(sid: string): { type: string; token?: string; position: number }[] {
    return this.seen
      .filter((s) => s.name === 'stream_event')
      .map((s) => s.payload as { type: string; session_id: string; token?: string; position: number })
      .filter((p) => p.session_id === sid);
  }

  close(): void {
    this.socket.close();
  }

  private push(s: Seen): void {
    this.seen.push(s);
    this.log.push(s);
    for (const w of [...this.waiters])
      if (w.pred(s)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(s);
      }
  }
}
