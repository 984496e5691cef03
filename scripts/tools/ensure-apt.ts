import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A program that Debian packages: the binary to find and the package that provides it. */
export interface AptTool {
  bin: string;
  pkg: string;
}

/** A tool that could not be provided, with the reason to show (tests skip with it). */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

function which(bin: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

let updated = false;

const LOCK = join(tmpdir(), 'streamfabric-apt.lock');

/** Blocks until this process holds the machine-wide install lock (test files run in parallel forks). */
function withInstallLock<T>(fn: () => T): T {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // A holder that died long ago must not block every later run.
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 15 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      Atomics.wait(pause, 0, 0, 500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function log(msg: string): void {
  process.stderr.write(`[streamfabric] ${msg}\n`);
}

/**
 * Returns the paths of Debian-packaged tools (haproxy, prometheus, promtool, docker-compose),
 * installing the missing ones with `apt-get update` (once per process) and `apt-get install -y`
 * when running as root on a Debian-like machine (CI runs as root). Throws
 * {@link ToolUnavailableError} naming what is missing and why when that cannot be done.
 */
export function ensureAptTools(tools: AptTool[]): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: AptTool[] = [];
  for (const t of tools) {
    const p = which(t.bin);
    if (p) found[t.bin] = p;
    else missing.push(t);
  }
  if (missing.length === 0) return found;
  const names = missing.map((t) => t.pkg).join(' ');
  if (!which('apt-get'))
    throw new ToolUnavailableError(`${names} not installed and apt-get is not available to install it`);
  if (process.getuid?.() !== 0)
    throw new ToolUnavailableError(`${names} not installed; run as root (or apt-get install -y ${names})`);
  const r = withInstallLock(() => {
    // Another process may have installed them while we waited for the lock.
    const still = missing.filter((t) => !which(t.bin));
    if (still.length === 0) return { status: 0, signal: null };
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Wait for dpkg's own lock too (an unattended upgrade may hold it) instead of failing.
    const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];
    if (!updated) {
      log('apt-get update (once)...');
      spawnSync('apt-get', [...lockWait, 'update'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env,
        timeout: 300_000,
      });
      updated = true;
    }
    const pkgs = [...new Set(still.map((t) => t.pkg))];
    log(`apt-get install -y ${pkgs.join(' ')}...`);
    return spawnSync('apt-get', [...lockWait, 'install', '-y', '--no-install-recommends', ...pkgs], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
      timeout: 600_000,
    });
  });
  for (const t of missing) {
    const p = which(t.bin);
    if (!p)
      throw new ToolUnavailableError(
        `apt-get install ${t.pkg} did not provide ${t.bin} (exit ${r.status ?? r.signal}); install it by hand`,
      );
    found[t.bin] = p;
  }
  return found;
}
