import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** Helpers for the processes the project starts itself (services, the AutoGen bridge). */

/**
 * Calls `onRecord` for every line a child process writes, parsed as JSON when it is a JSON log
 * line (the services' pino output, the AutoGen bridge's logs) and as `{ msg: line }` otherwise.
 */
export function onJsonLines(
  stream: Readable | null | undefined,
  onRecord: (rec: Record<string, unknown>, line: string) => void,
): void {
  let buf = '';
  stream?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        rec = { msg: line };
      }
      onRecord(rec, line);
    }
  });
}

/** Copies a child's stdout and stderr into a log file (npm start keeps its console for the first screen). */
export function teeToLog(child: ChildProcess, sink: Writable | undefined): void {
  if (!sink) return;
  child.stdout?.on('data', (d: Buffer) => sink.write(d));
  child.stderr?.on('data', (d: Buffer) => sink.write(d));
}

/** Sends `signal` to a child unless it already exited; resolves with its exit code. */
export async function killChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill(signal);
  return exited;
}
