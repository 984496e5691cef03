import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** What a benchmark run printed and how it ended. */
export interface BenchProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/scripts/bench.js <args>` (what `npm run bench -- <args>` runs after building). */
export function runBenchProcess(args: string[]): Promise<BenchProcessResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve('dist/scripts/bench.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}
