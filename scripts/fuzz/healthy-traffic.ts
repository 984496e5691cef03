import { WebSocket } from 'ws';
import { builtinText } from '../../services/worker/agents/builtin-model.js';

/**
 * Well-behaved sessions running on the same gateway while it is fuzzed: each must end with
 * `done`, contiguous seq from 1 and exactly the text the built-in model produces for its seed.
 * Proves hostile clients do not harm anyone else.
 */
export class HealthyTraffic {
  completed = 0;
  readonly problems: string[] = [];
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly protocols: string[],
  ) {}

  /** Runs `parallel` sessions back to back until `stop()`. */
  start(parallel: number): void {
    for (let i = 0; i < parallel; i++) this.loops.push(this.loop(i));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(lane: number): Promise<void> {
    let n = 0;
    while (!this.stopping) {
      const seed = 10_000 + lane * 100_000 + n++;
      try {
        await this.session(seed, 120);
        this.completed++;
      } catch (err) {
        this.problems.push(`healthy session seed ${seed}: ${(err as Error).message}`);
        if (this.stopping) return;
      }
    }
  }

  private session(seed: number, length: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, this.protocols);
      const seqs: number[] = [];
      let text = '';
      const timer = setTimeout(() => fail(new Error('did not finish in 60 s')), 60_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      let lastError = '';
      ws.on('error', (err) => {
        lastError = err.message;
        fail(err);
      });
      ws.on('close', (code, reason) =>
        fail(new Error(`connection closed (${code} ${reason.toString() || lastError}) before the end`)),
      );
      ws.on('open', () => {
        const sock = (ws as unknown as { _socket: import('node:net').Socket })._socket;
        sock.on('error', (e) => {
          lastError = `socket ${e.message}`;
        });
        sock.on('end', () => {
          lastError ||= 'socket end (FIN from server)';
        });
      });
      ws.on('open', () =>
        ws.send(
          JSON.stringify({
            type: 'start',
            id: 1,
            input: 'healthy',
            options: { seed, length, tokensPerSecond: 200 },
          }),
        ),
      );
      ws.on('message', (d) => {
        let f: Record<string, unknown>;
        try {
          f = JSON.parse(d.toString()) as Record<string, unknown>;
        } catch {
          return fail(new Error(`server sent a non-JSON frame: ${d.toString().slice(0, 100)}`));
        }
        if (f.type === 'reply' && f.ok === false)
          return fail(new Error(`start refused: ${JSON.stringify(f.error)}`));
        if (typeof f.seq !== 'number') return;
        seqs.push(f.seq);
        if (f.type === 'token') text += String(f.text);
        if (f.type === 'error' || f.type === 'cancelled') return fail(new Error(`ended with ${f.type}`));
        if (f.type !== 'done') return;
        clearTimeout(timer);
        ws.removeAllListeners('close');
        ws.close();
        if (seqs.some((s, i) => s !== i + 1))
          return reject(new Error(`seq not contiguous: ${seqs.join(',')}`));
        if (text !== builtinText(seed, length))
          return reject(new Error('text differs from the model output'));
        resolve();
      });
    });
  }
}
