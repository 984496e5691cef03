import { createWriteStream, mkdirSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { startDemoAgents } from './start/demo-agents.js';
import { dataDir, removeFabricFile, writeFabricFile } from './start/fabric-file.js';
import { renderFirstScreen } from './start/first-screen.js';
import { freePort } from './topology/free-port.js';
import { startNats } from './topology/nats-process.js';
import { killAllServices, type ServiceProcess, spawnService } from './topology/service-process.js';

/**
 * `npm start`: a whole local fabric with embedded defaults: nats-server (JetStream, file
 * storage under .data/), one gateway, two workers running the built-in model, and, when Python
 * >= 3.10 is present, the AutoGen demo agents (start/demo-agents.ts). Service logs go to
 * .data/logs/fabric.log so the first screen stays in view; Ctrl-C stops everything, children first.
 */
async function main(): Promise<void> {
  const dir = dataDir();
  mkdirSync(resolve(dir, 'logs'), { recursive: true });
  const logFile = resolve(dir, 'logs', 'fabric.log');
  const sink = createWriteStream(logFile, { flags: 'a' });
  const say = (m: string) => process.stderr.write(`[streamfabric] ${m}\n`);
  say(`starting nats-server, a gateway and two workers (logs: ${shortPath(logFile)})...`);
  const nats = await startNats({ dataDir: resolve(dir, 'nats') });
  const wanted = Number(process.env.WEBSOCKET_PORT ?? 8080);
  const port = wanted === 0 || (await isFree(wanted)) ? wanted : await freePort();
  if (port !== wanted) say(`port ${wanted} is busy; using ${port}`);
  const host = process.env.WEBSOCKET_HOST ?? '127.0.0.1';
  const env = { NATS_URL: nats.urls, STREAM_LOG_LEVEL: process.env.STREAM_LOG_LEVEL ?? 'info' };
  const children: {
    kind: string;
    exited: Promise<number | null>;
    kill(s?: NodeJS.Signals): Promise<unknown>;
  }[] = [];
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    say('stopping...');
    removeFabricFile(dir);
    await Promise.allSettled(children.map((c) => c.kill('SIGTERM')));
    killAllServices(); // any child still starting up
    await nats.stop();
    sink.end();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  let gateway: ServiceProcess;
  try {
    gateway = await spawnService('gateway', {
      env: { ...env, WEBSOCKET_PORT: String(port), WEBSOCKET_HOST: host },
      logSink: sink,
    });
    children.push(gateway);
    for (const id of ['worker-1', 'worker-2'])
      children.push(await spawnService('worker', { env: { ...env, WORKER_ID: id }, logSink: sink }));
  } catch (err) {
    say(`failed to start: ${(err as Error).message}`);
    await stop(1);
    return;
  }
  const bound = gateway.port; // the gateway's real port (WEBSOCKET_PORT=0 picks one)
  const gatewayUrl = `http://${host}:${bound}`;
  writeFabricFile({ v: 1, natsUrl: nats.urls, gatewayUrl, pid: process.pid, startedAt: Date.now() }, dir);
  say('starting the AutoGen demo agents (the first run sets up .venv/, which takes a while)...');
  const demo = await startDemoAgents({ natsUrl: nats.urls, gatewayUrl, log: sink });
  for (const c of children)
    void c.exited.then((code) => {
      if (stopping) return;
      say(`${c.kind} exited (${code}); stopping`);
      void stop(1);
    });
  // A demo agent that dies leaves the rest of the fabric running: one line, the details in the log.
  for (const d of demo.started) {
    children.push({ kind: `bridge ${d.agent}`, exited: d.bridge.exited, kill: (s) => d.bridge.kill(s) });
    void d.bridge.exited.then(
      (code) => !stopping && say(`demo agent ${d.agent} exited (${code}); see the log`),
    );
  }
  process.stderr.write(
    renderFirstScreen({
      gatewayUrl,
      wsUrl: `ws://${host}:${bound}/v1/ws`,
      natsUrl: nats.urls,
      workers: 2,
      demo,
      logFile: shortPath(logFile),
    }),
  );
}

/** Relative to the working directory when inside it, absolute otherwise. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

void main();
