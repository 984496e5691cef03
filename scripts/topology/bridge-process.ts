import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { killChild, onJsonLines, teeToLog } from './child-process.js';
import { repoRoot } from './service-process.js';

/** The project's Python (.venv/, made by scripts/ensure-python.mjs). */
export function venvPython(): string {
  return join(repoRoot(), '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
}

/**
 * Makes sure .venv/ exists and matches bridges/autogen/requirements.txt (a no-op when it does;
 * safe from parallel test processes). Throws with the script's explanation when it cannot.
 */
export function ensurePython(): string {
  execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'ensure-python.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const python = venvPython();
  if (!existsSync(python)) throw new Error(`${python} is missing after scripts/ensure-python.mjs`);
  return python;
}

/** An AutoGen bridge (`python -m streamfabric_autogen`) running as its own process. */
export interface BridgeProcess {
  process: ChildProcess;
  /** JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface BridgeOptions {
  /** `module:function` that builds the agent or team, e.g. `streamfabric_autogen.demo:team`. */
  builder: string;
  /** The agent name it serves. */
  agent: string;
  /** NATS_URL and any other bridge setting. */
  env: Record<string, string>;
  verbose?: boolean;
  timeoutMs?: number;
  /** Also copy the bridge's raw output here (npm start's log file). */
  logSink?: Writable;
}

/**
 * Spawns a bridge and resolves once it logs "bridge ready" (an info line: keep STREAM_LOG_LEVEL at
 * info or lower); rejects with its stderr if it exits first.
 */
export function spawnBridge(opts: BridgeOptions): Promise<BridgeProcess> {
  const child = spawn(
    venvPython(),
    ['-m', 'streamfabric_autogen', opts.builder, '--agent', opts.agent, '--exit-with-parent'],
    { cwd: repoRoot(), env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  teeToLog(child, opts.logSink);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const bridge: BridgeProcess = {
    process: child,
    logs,
    exited,
    kill: (signal?: NodeJS.Signals) => killChild(child, exited, signal),
  };
  return new Promise((resolveP, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bridge did not become ready in time; stderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 60_000);
    onJsonLines(child.stdout, (rec, line) => {
      if (opts.verbose) process.stderr.write(`[bridge] ${line}\n`);
      if (logs.length < 5000) logs.push(rec);
      if (rec.msg === 'bridge ready') {
        clearTimeout(timer);
        resolveP(bridge);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.verbose) process.stderr.write(`[bridge!] ${d}`);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bridge exited with ${code} before it was ready: ${stderr.slice(-2000)}`));
    });
  });
}
