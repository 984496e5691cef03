#!/usr/bin/env node
// Creates (or refreshes) the git-ignored Python environment .venv/ that runs the AutoGen bridge and
// its pytest suite: python3 -m venv, the pinned bridges/autogen/requirements.txt, and the bridge
// itself installed editable. A stamp (hash of the inputs) makes later runs a no-op; a lock lets
// parallel test processes call this safely. Needs only python3 >= 3.10 and PyPI.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const bridge = join(root, 'bridges', 'autogen');
const requirements = join(bridge, 'requirements.txt');
const stampFile = join(venv, '.streamfabric-stamp');
const lockDir = join(root, '.venv.lock');
const python = join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');

function fail(reason) {
  console.error(
    `[streamfabric] cannot set up the Python environment for the AutoGen bridge (.venv/): ${reason}\n` +
      '[streamfabric] it needs python3 >= 3.10 with the venv module (Debian: apt-get install python3-venv)\n' +
      '[streamfabric] and PyPI reachable by pip; set SF_PYTHON=/path/to/python3 to pick another interpreter.',
  );
  process.exit(1);
}

function findPython() {
  for (const cand of [process.env.SF_PYTHON, 'python3', 'python'].filter(Boolean)) {
    const r = spawnSync(cand, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) continue;
    const [major, minor] = r.stdout.trim().split('.').map(Number);
    if (major === 3 && minor >= 10) return { bin: cand, version: r.stdout.trim() };
    console.error(`[streamfabric] ${cand} is Python ${r.stdout.trim()}; the AutoGen bridge needs >= 3.10`);
  }
  return null;
}

function stampOf(pythonVersion) {
  const h = createHash('sha256');
  h.update(pythonVersion);
  h.update(readFileSync(requirements));
  h.update(readFileSync(join(bridge, 'pyproject.toml')));
  return h.digest('hex');
}

function upToDate(stamp) {
  return existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** mkdir is atomic: the first process installs, the others wait; a lock older than 15 min is stale. */
function withLock(fn) {
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 15 * 60_000) rmSync(lockDir, { recursive: true });
      } catch {}
      sleep(500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function run(cmd, args) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
}

const found = findPython();
if (!found) fail('no python3 >= 3.10 with the venv module was found');
const stamp = stampOf(found.version);
if (!upToDate(stamp)) {
  withLock(() => {
    if (upToDate(stamp)) return; // another process finished it while we waited
    console.error(`[streamfabric] setting up .venv/ for the AutoGen bridge with Python ${found.version}...`);
    try {
      rmSync(venv, { recursive: true, force: true });
      run(found.bin, ['-m', 'venv', venv]);
      const pip = [python, '-m', 'pip', '--disable-pip-version-check', '--no-input'];
      run(pip[0], [...pip.slice(1), 'install', '--quiet', '-r', requirements]);
      run(pip[0], [...pip.slice(1), 'install', '--quiet', '--no-deps', '-e', bridge]);
    } catch (err) {
      rmSync(venv, { recursive: true, force: true });
      fail(`installing failed (${err.message.split('\n')[0]})`);
    }
    writeFileSync(stampFile, stamp);
    console.error('[streamfabric] .venv/ is ready');
  });
}
