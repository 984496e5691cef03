import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  it('starts nats-server, a gateway, two workers and the AutoGen demo agents, prints the first screen, streams, and stops cleanly on Ctrl-C', async () => {
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
      // The first screen comes last, once the demo agents run (or are reported skipped).
      await waitFor(() => out.includes('Press Ctrl-C to stop.'), {
        timeoutMs: 150_000,
        what: 'the first screen',
      });
      const url = /Open +(http:\/\/\S+\/examples\/basic\.html)/.exec(out)?.[1];
      if (!url) throw new Error(`no example URL on the first screen:\n${out}`);
      const screen = out.slice(out.indexOf('StreamFabric is running.'));
      expect(screen.split('\n').length).toBeLessThanOrEqual(20); // fits one screen: service logs go to the file
      // The NATS URL is the real one: fabric.json says the same, and the agent command names it.
      const fabricFile = JSON.parse(readFileSync(join(dataDir, 'fabric.json'), 'utf8')) as {
        natsUrl: string;
      };
      expect(screen).toContain(`NATS         ${fabricFile.natsUrl}`);
      expect(screen).toContain(`NATS_URL=${fabricFile.natsUrl} `);
      expect(screen).toContain('npm run agent -- ');
      expect(screen).toContain('docs/');
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('StreamFabric');
      const wsUrl = url.replace('http://', 'ws://').replace('/examples/basic.html', '/v1/ws');
      const client = new StreamFabricClient({ url: wsUrl, WebSocket: WebSocket as never });
      const s = await client.start({ input: 'hi', options: { seed: 8, length: 20, tokensPerSecond: 0 } });
      expect(await s.text()).toBe(builtinText(8, 20));
      const logs = readFileSync(join(dataDir, 'logs', 'fabric.log'), 'utf8');
      expect(logs.match(/"msg":"worker ready"/g)?.length).toBe(2);
      expect(out).not.toContain('worker ready');
      // The AgentChat demo team streams through its bridge (or the screen says why it was skipped).
      const pythonSkipped = /Skipped +AutoGen demo agents: (.+)/.exec(screen)?.[1];
      if (pythonSkipped) {
        expect(pythonSkipped.length).toBeGreaterThan(5);
      } else {
        expect(screen).toMatch(/Agents .*autogen-demo \(AgentChat team\)/);
        const team = await client.start({ agent: 'autogen-demo', input: 'hello' });
        expect((await team.text()).length).toBeGreaterThan(0);
        // `npm run agent` finds this fabric through .data/fabric.json: no NATS URL given.
        const agentEnv: Record<string, string | undefined> = {
          ...process.env,
          STREAMFABRIC_DATA_DIR: dataDir,
        };
        delete agentEnv.NATS_URL;
        const agentProc = spawn(
          process.execPath,
          ['dist/scripts/agent.js', 'streamfabric_autogen.demo:assistant', '--agent', 'autogen-assistant'],
          { env: agentEnv, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let agentOut = '';
        agentProc.stdout.on('data', (d: Buffer) => {
          agentOut += d.toString();
        });
        agentProc.stderr.on('data', (d: Buffer) => {
          agentOut += d.toString();
        });
        const agentExited = new Promise((r) => agentProc.once('exit', r));
        try {
          await waitFor(() => agentOut.includes('bridge ready'), {
            timeoutMs: 90_000,
            what: 'npm run agent',
          });
          expect(agentOut).toContain(`bridge on ${fabricFile.natsUrl}`);
          const s = await client.start({ agent: 'autogen-assistant', input: 'hi' });
          expect((await s.text()).length).toBeGreaterThan(0);
        } finally {
          agentProc.kill('SIGTERM');
          await agentExited;
        }
      }
      client.close();

      const children = childPids(proc.pid!);
      expect(children.length).toBeGreaterThanOrEqual(pythonSkipped ? 4 : 5); // nats-server, gateway, 2 workers, bridges
      proc.kill('SIGINT');
      expect(await exited).toBe(0);
      await waitFor(() => children.every((pid) => !alive(pid)), {
        timeoutMs: 15_000,
        what: 'every child to exit',
      });
      expect(existsSync(join(dataDir, 'fabric.json'))).toBe(false);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000); // a first run sets up .venv/ before the screen appears
});
