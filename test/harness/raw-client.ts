import { WebSocket } from 'ws';
import { waitFor } from '../../scripts/topology/wait.js';
import type { ClientFrame, ReplyFrame, SessionEvent } from '../../shared/protocol/index.js';

/**
 * A low-level protocol client for tests: sends raw frames and records every frame received,
 * so tests can assert on exactly what crossed the wire (seq order, duplicates, replies).
 */
export class RawClient {
  readonly frames: Record<string, unknown>[] = [];
  readonly closeInfo: { code?: number; reason?: string } = {};
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      try {
        this.frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
      } catch {
        this.frames.push({ type: '__unparseable', raw: d.toString() });
      }
    });
    ws.on('close', (code, reason) => {
      this.closeInfo.code = code;
      this.closeInfo.reason = reason.toString();
    });
  }

  static async connect(
    url: string,
    protocols?: string[],
    headers?: Record<string, string>,
  ): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, { headers });
    const c = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await waitFor(() => c.frames.some((f) => f.type === 'welcome'), { what: 'welcome frame' });
    return c;
  }

  send(frame: ClientFrame | Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  events(sid: string): SessionEvent[] {
    return this.frames.filter((f) => f.sid === sid && typeof f.seq === 'number') as unknown as SessionEvent[];
  }

  replies(): ReplyFrame[] {
    return this.frames.filter((f) => f.type === 'reply') as unknown as ReplyFrame[];
  }

  async reply(pred: (r: ReplyFrame) => boolean, timeoutMs = 10_000): Promise<ReplyFrame> {
    return waitFor(() => this.replies().find(pred), { timeoutMs, what: 'reply' });
  }

  /** Waits for a terminal event of the session and returns all its events. */
  async finished(sid: string, timeoutMs = 30_000): Promise<SessionEvent[]> {
    await waitFor(
      () => this.events(sid).some((e) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled'),
      { timeoutMs, what: `session ${sid} to finish` },
    );
    return this.events(sid);
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection without a close handshake (like a lost network). */
  terminate(): void {
    this.ws.terminate();
  }
}

/** Asserts seq is exactly 1..n (or after+1..n): no gap, no duplicate, no reorder. */
export function assertContiguous(events: { seq: number }[], after = 0): void {
  events.forEach((e, i) => {
    if (e.seq !== after + i + 1)
      throw new Error(
        `seq not contiguous at index ${i}: got ${e.seq}, expected ${after + i + 1} (${events.map((x) => x.seq).join(',')})`,
      );
  });
}

/** Concatenated token text of a list of events. */
export function tokenText(events: SessionEvent[]): string {
  return events.map((e) => (e.type === 'token' ? e.text : '')).join('');
}
