import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!updated) {
    log('apt-get update (once)...');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 300_000 });
    updated = true;
  }
  log(`apt-get install -y ${names}...`);
  const r = spawnSync(
    'apt-get',
    ['install', '-y', '--no-install-recommends', ...new Set(missing.map((t) => t.pkg))],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
      timeout: 600_000,
    },
  );
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
