import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from './topology/free-port.js';
import { startNats } from './topology/nats-process.js';
import { killAllServices, type ServiceProcess, spawnService } from './topology/service-process.js';

/**
 * `npm start`: a whole local fabric with embedded defaults: nats-server (JetStream, file
 * storage under .data/), one gateway, two workers running the built-in model. Ctrl-C stops
 * everything, children first.
 */
async function main(): Promise<void> {
  const dataDir = resolve(process.env.STREAMFABRIC_DATA_DIR ?? '.data');
  mkdirSync(dataDir, { recursive: true });
  const log = (m: string) => process.stderr.write(`[streamfabric] ${m}\n`);
  log('starting nats-server (JetStream)...');
  const nats = await startNats({ dataDir: resolve(dataDir, 'nats') });
  log(`nats-server ${nats.urls} (store ${nats.dataDir})`);
  const wanted = Number(process.env.WEBSOCKET_PORT ?? 8080);
  const port = wanted === 0 || (await isFree(wanted)) ? wanted : await freePort();
  if (port !== wanted) log(`port ${wanted} is busy; using ${port}`);
  const env = { NATS_URL: nats.urls, STREAM_LOG_LEVEL: process.env.STREAM_LOG_LEVEL ?? 'info' };
  const children: ServiceProcess[] = [];
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    log('stopping...');
    await Promise.allSettled(children.map((c) => c.kill('SIGTERM')));
    killAllServices(); // any child still starting up
    await nats.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  try {
    children.push(
      await spawnService('gateway', {
        env: {
          ...env,
          WEBSOCKET_PORT: String(port),
          WEBSOCKET_HOST: process.env.WEBSOCKET_HOST ?? '127.0.0.1',
        },
        verbose: true,
      }),
    );
    children.push(await spawnService('worker', { env: { ...env, WORKER_ID: 'worker-1' }, verbose: true }));
    children.push(await spawnService('worker', { env: { ...env, WORKER_ID: 'worker-2' }, verbose: true }));
  } catch (err) {
    log(`failed to start: ${(err as Error).message}`);
    await stop(1);
    return;
  }
  for (const c of children)
    void c.exited.then((code) => !stopping && log(`${c.kind} exited (${code}); stopping`) && void stop(1));
  const bound = children[0]?.port ?? port; // the gateway's real port (WEBSOCKET_PORT=0 picks one)
  const base = `http://${process.env.WEBSOCKET_HOST ?? '127.0.0.1'}:${bound}`;
  log('');
  log(`StreamFabric is running.  Open ${base}/examples/basic.html`);
  log(
    `  advanced example: ${base}/examples/advanced.html   metrics: ${base}/metrics   WebSocket: ws://127.0.0.1:${bound}/v1/ws`,
  );
  log('Press Ctrl-C to stop.');
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
