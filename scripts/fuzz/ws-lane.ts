import { WebSocket } from 'ws';
import type { WsInput } from './arbitraries.js';

/** What became of one input: the gateway answered it (reply or pong), or closed the socket. */
export type WsOutcome =
  | { kind: 'answered'; answer: Record<string, unknown>; frames: unknown[] }
  | { kind: 'closed'; code: number; reason: string; frames: unknown[] }
  | { kind: 'silent'; frames: unknown[] };

/**
 * One fuzzing connection: sends an input, waits for its answer (every frame the gateway
 * accepts gets exactly one `reply` or `pong`), and reports anything else it received. It
 * reconnects by itself after the gateway closes it.
 */
export class WsLane {
  private ws: WebSocket | null = null;
  private frames: unknown[] = [];
  private closed: { code: number; reason: string } | null = null;
  private wake: (() => void) | null = null;
  connections = 0;

  constructor(
    private readonly url: string,
    private readonly protocols: string[],
    private readonly answerTimeoutMs = 10_000,
  ) {}

  async send(input: WsInput): Promise<WsOutcome> {
    const ws = await this.socket();
    this.frames = [];
    const before = this.answers();
    if (input.kind === 'text') ws.send(input.data);
    else ws.send(input.data, { binary: input.kind === 'binary' });
    const deadline = Date.now() + this.answerTimeoutMs;
    while (this.answers() === before && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    const frames = this.frames;
    if (this.closed) {
      const c = this.closed;
      this.ws = null;
      return { kind: 'closed', ...c, frames };
    }
    const answer = frames.find((f) => isAnswer(f)) as Record<string, unknown> | undefined;
    return answer ? { kind: 'answered', answer, frames } : { kind: 'silent', frames };
  }

  close(): void {
    this.ws?.close();
    this.ws = null;
  }

  private answered = 0;
  private answers(): number {
    return this.answered;
  }

  private async socket(): Promise<WebSocket> {
    if (this.ws && !this.closed) return this.ws;
    this.closed = null;
    const ws = new WebSocket(this.url, this.protocols);
    ws.on('message', (d, isBinary) => {
      let f: unknown;
      try {
        f = JSON.parse(d.toString());
      } catch {
        f = { __unparseable: d.toString().slice(0, 200), isBinary };
      }
      this.frames.push(f);
      if (isAnswer(f)) this.answered++;
      this.wake?.();
    });
    let lastError = '';
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() || lastError };
      this.wake?.();
    });
    ws.on('error', (err) => {
      lastError = `client error: ${err.message}`;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.connections++;
    this.ws = ws;
    return ws;
  }
}

function isAnswer(f: unknown): boolean {
  const t = (f as { type?: unknown } | null)?.type;
  return t === 'reply' || t === 'pong';
}
