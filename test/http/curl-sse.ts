import { type ChildProcess, spawn } from 'node:child_process';

/** One parsed SSE message (comments dropped). */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Runs `curl -N` against an SSE endpoint (a real HTTP client, as a user would) and parses what
 * arrives as it arrives, so a test can stop it mid-stream like a dropped connection.
 */
export class CurlSse {
  readonly messages: SseMessage[] = [];
  readonly exited: Promise<number | null>;
  status = 0;
  private readonly proc: ChildProcess;
  private buf = '';
  private head = true;

  constructor(url: string, headers: Record<string, string> = {}) {
    // `-D -` puts the response head first on stdout (curl 8 crashes writing it to a piped /dev/stderr).
    const args = ['-sS', '-N', '--max-time', '60', '-D', '-', url];
    for (const [k, v] of Object.entries(headers)) args.unshift('-H', `${k}: ${v}`);
    this.proc = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d: Buffer) => this.feed(d.toString()));
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }

  /** Kills curl: the server sees the connection drop. */
  kill(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  /** Data of the messages that carry an `id` (session events), parsed. */
  events<T = { seq: number; type: string; text?: string }>(): T[] {
    return this.messages.filter((m) => m.id !== undefined).map((m) => JSON.parse(m.data) as T);
  }

  private feed(text: string): void {
    this.buf += text;
    if (this.head) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(this.buf)?.[1] ?? 0);
      this.buf = this.buf.slice(end + 4);
      this.head = false;
    }
    for (let i = this.buf.indexOf('\n\n'); i >= 0; i = this.buf.indexOf('\n\n')) {
      const block = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const msg: SseMessage = { data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line === '') continue;
        const idx = line.indexOf(':');
        const field = idx < 0 ? line : line.slice(0, idx);
        const value = idx < 0 ? '' : line.slice(idx + 1).replace(/^ /, '');
        if (field === 'data') data.push(value);
        else if (field === 'id') msg.id = value;
        else if (field === 'event') msg.event = value;
      }
      if (data.length === 0) continue;
      msg.data = data.join('\n');
      this.messages.push(msg);
    }
  }
}
