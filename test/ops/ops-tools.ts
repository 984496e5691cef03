import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { type AptTool, ensureAptTools, ToolUnavailableError } from '../../scripts/tools/ensure-apt.js';

/** Repository root (tests run from source). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readRepo(path: string): string {
  return readFileSync(resolve(ROOT, path), 'utf8');
}

/** Parses a YAML file of the repo; `<<` merge keys resolved as Docker Compose does. */
export function yamlFile<T = Record<string, unknown>>(path: string): T {
  return parse(readRepo(path), { merge: true }) as T;
}

/** Every document of a multi-document YAML file. */
export function yamlDocs(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readRepo(path)).map(
    (d) => d.toJS({ maxAliasCount: 100 }) as Record<string, unknown>,
  );
}

/**
 * The path of a Debian-packaged tool, installed if missing (root + apt), or null with the
 * reason logged: validation that needs the tool is skipped then, never faked.
 */
export function optionalTool(tool: AptTool): string | null {
  try {
    return ensureAptTools([tool])[tool.bin] ?? null;
  } catch (err) {
    if (!(err instanceof ToolUnavailableError)) throw err;
    console.warn(`[ops test] ${tool.bin} unavailable, its validation is skipped: ${err.message}`);
    return null;
  }
}

/** Runs a validator; returns its exit code and output. */
export function run(bin: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(bin, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
