import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from './wait.js';

/** A non-Node program the project runs (HAProxy, Prometheus), as a child process. */
export interface ExternalProcess {
  name: string;
  process: ChildProcess;
  /** Last output lines, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// A crashed or interrupted parent must not leave a load balancer or Prometheus behind.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/**
 * Spawns `bin args` and resolves once `ready()` is true; rejects with the program's output if
 * it exits first or is not ready within `timeoutMs`.
 */
export async function spawnExternal(
  name: string,
  bin: string,
  args: string[],
  opts: { ready: () => Promise<boolean>; verbose?: boolean; timeoutMs?: number },
): Promise<ExternalProcess> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8000);
    if (opts.verbose) process.stderr.write(`[${name}] ${d}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      live.delete(child);
      r();
    }),
  );
  const ext: ExternalProcess = {
    name,
    process: child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await Promise.race([
      waitFor(opts.ready, {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        what: `${name} to be ready`,
      }),
      exited.then(() => {
        throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}`);
      }),
    ]);
  } catch (err) {
    await ext.stop();
    throw new Error(`${(err as Error).message}\n${name} output:\n${out.slice(-3000)}`);
  }
  return ext;
}

/** True when `url` answers with a 2xx status. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}
