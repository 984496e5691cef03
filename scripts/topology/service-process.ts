import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { killChild, onJsonLines, teeToLog } from './child-process.js';

/** Repo root, from dist/scripts/topology or scripts/topology. */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${'/dist/'}`) ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
}

const liveChildren = new Set<ChildProcess>();

/** Kills every service this process spawned (used on shutdown paths and by test teardown). */
export function killAllServices(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const c of liveChildren) c.kill(signal);
}

export type ServiceKind = 'gateway' | 'worker';

/** A gateway or worker started as its own Node process (exactly as in production). */
export interface ServiceProcess {
  kind: ServiceKind;
  process: ChildProcess;
  /** The gateway's bound port (0 for workers). */
  port: number;
  /** Log lines seen so far (parsed JSON where possible). */
  logs: Record<string, unknown>[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Echo the service's output to this process's stderr. */
  verbose?: boolean;
  timeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
  /** Also copy the service's raw output here (npm start's log file). */
  logSink?: Writable;
}

/**
 * Spawns `node dist/services/<kind>/main.js` and resolves once it logs readiness
 * ("gateway listening" / "worker ready"); rejects with its output if it exits first.
 */
export function spawnService(kind: ServiceKind, opts: SpawnOptions): Promise<ServiceProcess> {
  const main = resolve(repoRoot(), 'dist', 'services', kind, 'main.js');
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), main], {
    env: { ...process.env, STREAM_LOG_LEVEL: 'info', ...opts.env },
    // The IPC channel lets the service notice when its parent dies (no orphans after Ctrl-C or a crash).
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  teeToLog(child, opts.logSink);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolveP, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} did not become ready in time; stderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs ?? 30_000);
    onJsonLines(child.stdout, (rec) => {
      if (opts.verbose) process.stderr.write(`${formatLog(kind, rec)}\n`);
      if (logs.length < 5000) logs.push(rec);
      if (rec.msg === 'gateway listening' || rec.msg === 'worker ready') {
        clearTimeout(timer);
        resolveP(svc(Number(rec.port ?? 0)));
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (opts.verbose) process.stderr.write(`[${kind}!] ${d}`);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited with ${code} before it was ready: ${stderr.slice(-2000)}`));
    });
    const svc = (port: number): ServiceProcess => ({
      kind,
      process: child,
      port,
      logs,
      exited,
      kill: (signal?: NodeJS.Signals) => killChild(child, exited, signal),
    });
  });
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** One readable line from a JSON log record (for `npm start`'s console). */
function formatLog(kind: string, rec: Record<string, unknown>): string {
  const who = String(rec.gateway ?? rec.worker ?? kind);
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIP.has(k) && k !== 'gateway' && k !== 'worker')
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `[${kind} ${who}] ${LEVELS[Number(rec.level)] ?? ''} ${String(rec.msg ?? '')} ${fields}`.trimEnd();
}
