import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import {
  killAllServices,
  type ServiceProcess,
  spawnService,
} from '../../scripts/topology/service-process.js';
import type { ProcessRoles } from './proc-stats.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Everything one benchmark target runs on: the processes, their roles and the URLs to load. */
export interface BenchTopology {
  urls: string[];
  roles: ProcessRoles;
  nats: NatsCluster | null;
  /** Starts one more gateway (fresh memory, used for the idle-stream measurement). */
  addGateway?: () => Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface TopologyOptions {
  gateways: number;
  workers: number;
  /** Extra env for workers (flush interval, model speed, concurrency). */
  workerEnv: Record<string, string>;
  gatewayEnv: Record<string, string>;
  /** Extra node flags per role (--cpu-prof ...). */
  workerArgs: string[];
  gatewayArgs: string[];
  verbose: boolean;
}

const pidOf = (p: { process: ChildProcess }) => p.process.pid!;

/** SIGTERM first, so `--cpu-prof` profiles get written; SIGKILL whatever is still alive after 10 s. */
async function stopServices(services: ServiceProcess[]): Promise<void> {
  await Promise.allSettled(
    services.map((s) =>
      Promise.race([
        s.kill('SIGTERM'),
        new Promise((r) => setTimeout(r, 10_000)).then(() => s.kill('SIGKILL')),
      ]),
    ),
  );
}

async function startWorkers(nats: NatsCluster, o: TopologyOptions): Promise<ServiceProcess[]> {
  return Promise.all(
    Array.from({ length: o.workers }, (_, i) =>
      spawnService('worker', {
        env: { NATS_URL: nats.urls, WORKER_ID: `bench-w${i + 1}`, STREAM_LOG_LEVEL: 'info', ...o.workerEnv },
        nodeArgs: o.workerArgs,
        verbose: o.verbose,
        timeoutMs: 60_000,
      }),
    ),
  );
}

/** nats-server (JetStream, file storage) + gateways + workers, as in production. */
export async function startFabricTopology(o: TopologyOptions): Promise<BenchTopology> {
  const nats = await startNats({ verbose: o.verbose });
  const gateways: ServiceProcess[] = [];
  const workers: ServiceProcess[] = [];
  const addGateway = async () => {
    const g = await spawnService('gateway', {
      env: {
        NATS_URL: nats.urls,
        WEBSOCKET_PORT: '0',
        GATEWAY_ID: `bench-g${gateways.length + 1}`,
        STREAM_LOG_LEVEL: 'info',
        ...o.gatewayEnv,
      },
      nodeArgs: o.gatewayArgs,
      verbose: o.verbose,
      timeoutMs: 60_000,
    });
    gateways.push(g);
    return g;
  };
  try {
    for (let i = 0; i < o.gateways; i++) await addGateway();
    workers.push(...(await startWorkers(nats, o)));
  } catch (err) {
    killAllServices();
    await nats.stop();
    throw err;
  }
  return {
    urls: gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/ws`),
    roles: {
      gateway: gateways.map(pidOf),
      worker: workers.map(pidOf),
      nats: nats.nodes.map((n) => n.process!.pid!),
    },
    nats,
    addGateway,
    async stop() {
      await stopServices([...gateways, ...workers]);
      await nats.stop();
    },
  };
}

/** Starts a baseline server program (dist/loadtest/baselines/<name>.js) and waits for its port. */
function spawnBaseline(
  name: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [resolve(here, '..', 'baselines', `${name}.js`)], {
    env: { ...process.env, BASELINE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((ok, fail) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      if (m) ok({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => fail(new Error(`${name} exited (${code}) before listening`)));
  });
}

async function killChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  await new Promise<void>((r) => {
    c.once('exit', () => r());
    c.kill('SIGKILL');
  });
}

/** NATS + the same workers, with the Socket.IO server in place of the gateways. */
export async function startSocketIoTopology(o: TopologyOptions): Promise<BenchTopology> {
  const nats = await startNats({ verbose: o.verbose });
  // The registry bucket and streams are provisioned by the workers at start.
  const workers = await startWorkers(nats, o);
  const sio = await spawnBaseline('socketio-server', { NATS_URL: nats.urls });
  return {
    urls: [`http://127.0.0.1:${sio.port}`],
    roles: {
      gateway: [sio.child.pid!],
      worker: workers.map(pidOf),
      nats: nats.nodes.map((n) => n.process!.pid!),
    },
    nats,
    async stop() {
      await killChild(sio.child);
      await stopServices(workers);
      await nats.stop();
    },
  };
}

/** The raw uWS fan-out server alone (no broker, no workers). */
export async function startUwsTopology(): Promise<BenchTopology> {
  const uws = await spawnBaseline('uws-fanout-server', {});
  return {
    urls: [`ws://127.0.0.1:${uws.port}/v1/ws`],
    roles: { gateway: [uws.child.pid!] },
    nats: null,
    async stop() {
      await killChild(uws.child);
    },
  };
}
