import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A tool the project builds or finds itself: where it comes from and which versions will do. */
export interface ToolSpec {
  name: string;
  version: string;
  /** `go install` module path with version (absent: never built from source here). */
  goModule?: string;
  /** Binary name that `go install` produces. */
  goBinary?: string;
  /** Prints the version; the returned text is matched by `accept`. */
  versionArgs: string[];
  accept: (versionText: string) => boolean;
  /** Debian package to try last, if any. */
  debianPackage?: string;
  /** Environment variable that points at a binary to use as is. */
  envVar: string;
  /** What to tell the user when nothing works. */
  help: string;
}

export const NATS_SERVER: ToolSpec = {
  name: 'nats-server',
  version: 'v2.14.5',
  goModule: 'github.com/nats-io/nats-server/v2@v2.14.5',
  goBinary: 'nats-server',
  versionArgs: ['--version'],
  // Batch direct get (used for catch-up reads) needs 2.11+; we test on 2.14.
  accept: (v) => /v?2\.(1[1-9]|[2-9]\d)\./.test(v),
  debianPackage: 'nats-server',
  envVar: 'NATS_SERVER_BIN',
  help: 'install Go >= 1.24 (https://go.dev/dl) so the project can build nats-server v2.14.5, or put nats-server >= 2.11 on PATH, or set NATS_SERVER_BIN',
};

/**
 * Centrifugo, the peer the benchmark compares the fabric against (issue 14). Built from source
 * like nats-server; it has no Debian package of the right major version, so Go is required.
 */
export const CENTRIFUGO: ToolSpec = {
  name: 'centrifugo',
  version: 'v6.9.1',
  goModule: 'github.com/centrifugal/centrifugo/v6@v6.9.1',
  goBinary: 'centrifugo',
  versionArgs: ['version'],
  // The bench config uses v6 keys (client.token, channel.namespaces, http_api): v6 only. A
  // `go install` build prints v0.0.0 (releases set the version with -ldflags), so only the cached
  // build, named by the version it was installed at, is trusted without a version number.
  accept: (v) => /Centrifugo v6\.\d+\.\d+/.test(v),
  envVar: 'CENTRIFUGO_BIN',
  help:
    'Go is missing or `go install` failed: install Go >= 1.24 (https://go.dev/dl) so the project can build ' +
    'Centrifugo v6.9.1 (once, cached), or put centrifugo v6 on PATH, or set CENTRIFUGO_BIN. Only the ' +
    'centrifugo target of `npm run bench` needs it (leave it out with --targets fabric,socketio,uws)',
};

/**
 * k6 runs the optional scripts in loadtest/k6/. It is never built or downloaded by the project:
 * k6 is AGPL-3.0, on this workplace's not-to-use list, and its Go module proxy refuses
 * go.k6.io/k6 (so `go install` cannot work here). Only a k6 the user installed is used.
 */
export const K6: ToolSpec = {
  name: 'k6',
  version: 'v1+',
  versionArgs: ['version'],
  // The scripts use the stable `k6/websockets` module (k6 >= 1.0).
  accept: (v) => /v([1-9]\d*)\./.test(v),
  envVar: 'K6_BIN',
  help:
    'k6 is not installed, and the project does not fetch it: the Go module proxy here refuses go.k6.io/k6 ' +
    '(k6 is AGPL-3.0 and on the not-to-use list), and it is not fetched any other way. `npm run bench` ' +
    'does not need it (it uses the Node load client in loadtest/node/). To run loadtest/k6/*.js, install ' +
    'k6 >= 1.0 yourself and put it on PATH or set K6_BIN',
};

/** The cache folder shared by every clone on this machine. */
export function toolCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'streamfabric', 'bin');
}

function versionOf(bin: string, spec: ToolSpec): string | null {
  const r = spawnSync(bin, spec.versionArgs, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0 && !r.stdout) return null;
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function onPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

function log(msg: string): void {
  process.stderr.write(`[streamfabric] ${msg}\n`);
}

/**
 * Returns the path of a usable binary for the tool: $ENV_VAR, then the cache, then PATH,
 * then `go install` into the cache, then Debian's package. Throws with a message naming what
 * to install when nothing works.
 */
export function ensureTool(spec: ToolSpec): string {
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    const v = versionOf(fromEnv, spec);
    if (v && spec.accept(v)) return fromEnv;
    throw new Error(
      `${spec.envVar}=${fromEnv} is not a usable ${spec.name} (version: ${v ?? 'does not run'})`,
    );
  }
  const cached = join(toolCacheDir(), `${spec.name}-${spec.version}`);
  if (existsSync(cached)) return cached;

  const pathBin = onPath(spec.name);
  if (pathBin) {
    const v = versionOf(pathBin, spec);
    if (v && spec.accept(v)) return pathBin;
    log(`${spec.name} on PATH (${pathBin}, ${v ?? '?'}) is too old; building ${spec.version}`);
  }

  if (spec.goModule && spec.goBinary && onPath('go')) {
    log(`building ${spec.name} ${spec.version} with go install (once; cached in ${toolCacheDir()})...`);
    const gobin = mkdtempSync(join(tmpdir(), `sf-${spec.name}-`));
    try {
      execFileSync('go', ['install', spec.goModule], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0' },
      });
      mkdirSync(toolCacheDir(), { recursive: true });
      const tmp = `${cached}.tmp-${process.pid}`;
      copyFileSync(join(gobin, spec.goBinary), tmp);
      chmodSync(tmp, 0o755);
      renameSync(tmp, cached); // atomic: concurrent builders never see a half-written binary
      return cached;
    } catch (err) {
      log(`go install ${spec.goModule} failed: ${(err as Error).message}`);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  }

  if (spec.debianPackage && onPath('apt-get')) {
    log(`trying Debian's ${spec.debianPackage} package (last resort)...`);
    spawnSync('apt-get', ['install', '-y', spec.debianPackage], { stdio: 'inherit' });
    const p = onPath(spec.name);
    const v = p ? versionOf(p, spec) : null;
    if (p && v && spec.accept(v)) return p;
    if (p) log(`Debian's ${spec.name} (${v}) is too old for StreamFabric`);
  }
  const noGo = spec.goModule && !onPath('go') ? ' (go is not on PATH)' : '';
  throw new Error(`cannot provide ${spec.name} ${spec.version}${noGo}: ${spec.help}`);
}
