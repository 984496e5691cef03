import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CENTRIFUGO, ensureTool } from '../../scripts/tools/ensure-tool.js';
import { CENTRIFUGO_API_KEY, centrifugoConfig } from '../baselines/centrifugo-setup.js';

/** A running Centrifugo node (memory engine) with the benchmark's config. */
export interface CentrifugoNode {
  child: ChildProcess;
  port: number;
  /** Server HTTP API base, e.g. http://127.0.0.1:8000/api */
  apiUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => ok(port));
    });
  });
}

/** Calls one method of Centrifugo's server HTTP API (`POST /api/<method>`). */
export async function centrifugoApi<T = unknown>(apiUrl: string, method: string, params: object): Promise<T> {
  const r = await fetch(`${apiUrl}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': CENTRIFUGO_API_KEY },
    body: JSON.stringify(params),
  });
  if (!r.ok) throw new Error(`centrifugo ${method}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

/**
 * Starts Centrifugo v6 (built once by ensureTool) on `port` (a free one if absent) and waits until
 * its API answers. Restarting on the same port is how the restart check loses the memory history.
 */
export async function startCentrifugo(port?: number, verbose = false): Promise<CentrifugoNode> {
  const bin = ensureTool(CENTRIFUGO);
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sf-centrifugo-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(centrifugoConfig(p), null, 2));
  const child = spawn(bin, ['--config', config], {
    stdio: ['ignore', verbose ? 'inherit' : 'ignore', 'inherit'],
  });
  const apiUrl = `http://127.0.0.1:${p}/api`;
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', (code) => fail(new Error(`centrifugo exited (${code}) before it was ready`))),
  );
  exited.catch(() => undefined);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await Promise.race([centrifugoApi(apiUrl, 'info', {}), exited]);
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    child,
    port: p,
    apiUrl,
    wsUrl: `ws://127.0.0.1:${p}/connection/websocket`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((r) => {
          child.once('exit', () => r());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
