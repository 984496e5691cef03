import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { StreamFabricClient } from '../../client/src/index.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Child pids of a process, from /proc (Linux). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

describe('npm start - local fabric', () => {
  it('starts nats-server, a gateway and two workers, prints the example URL, streams, and stops cleanly on Ctrl-C', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sf-start-'));
    const proc = spawn(process.execPath, ['dist/scripts/start.js'], {
      env: { ...process.env, WEBSOCKET_PORT: '0', STREAMFABRIC_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    try {
      const url = await waitFor(() => /Open (http:\/\/\S+\/examples\/basic\.html)/.exec(out)?.[1], {
        timeoutMs: 60_000,
        what: 'the example URL',
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('StreamFabric');
      const wsUrl = url.replace('http://', 'ws://').replace('/examples/basic.html', '/v1/ws');
      const client = new StreamFabricClient({ url: wsUrl, WebSocket: WebSocket as never });
      const s = await client.start({ input: 'hi', options: { seed: 8, length: 20, tokensPerSecond: 0 } });
      expect(await s.text()).toBe(builtinText(8, 20));
      client.close();
      expect(out.match(/worker ready/g)?.length).toBe(2);

      const children = childPids(proc.pid!);
      expect(children.length).toBeGreaterThanOrEqual(4); // nats-server, gateway, 2 workers
      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      await waitFor(() => children.every((pid) => !alive(pid)), {
        timeoutMs: 15_000,
        what: 'every child to exit',
      });
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
