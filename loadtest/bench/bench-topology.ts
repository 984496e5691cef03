import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../scripts/topology/free-port.js';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import { type ServiceProcess, spawnService } from '../../scripts/topology/service-process.js';
import { type LeaderPlacement, spreadLeaders } from '../../shared/nats/leaders.js';
import { setPartitionLayout } from '../../shared/nats/subjects.js';
import { startCentrifugo } from './centrifugo-process.js';
import type { ProcessRoles } from './proc-stats.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Everything one benchmark target runs on: the processes, their roles and the URLs to load. */
export interface BenchTopology {
  urls: string[];
  /** Per URL, where sessions are started, when not by the socket's server (Centrifugo's publishers). */
  startUrls?: string[];
  roles: ProcessRoles;
  nats: NatsCluster | null;
  /** Stops the target's own front processes (never the shared backend). */
  stop(): Promise<void>;
}

export interface TopologyOptions {
  /** nats-server nodes (>= 3: a cluster, streams R3). */
  natsNodes: number;
  /** NATS_PARTITIONS for every gateway and worker of this backend. */
  partitions: number;
  gateways: number;
  workers: number;
  /** Extra env for workers (flush interval, model speed, concurrency). */
  workerEnv: Record<string, string>;
  gatewayEnv: Record<string, string>;
  /** Extra node flags per role (--cpu-prof ...). */
  workerArgs: string[];
  gatewayArgs: string[];
  verbose: boolean;
  /** Serve nats-server's pprof (CPU profiles of the broker, `--profile`). */
  natsProfile?: boolean;
}

/**
 * nats-server (JetStream, file storage) and the workers, shared by the fabric and the Socket.IO
 * baseline: the very same broker and workers serve both, so only the gateway tier differs.
 */
export interface Backend {
  nats: NatsCluster;
  workers: ServiceProcess[];
  roles: ProcessRoles;
  /** NATS_REPLICAS and NATS_PARTITIONS every process on this backend runs with. */
  logEnv: Record<string, string>;
  /** Where the partition leaders were put at start (P > 1 on a cluster). */
  leaders?: LeaderPlacement[];
  /** Starts a gateway on this backend (fresh process and memory). */
  addGateway(o: TopologyOptions, index: number): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

/** Moves the leaders of the P partitions' streams to different nodes; returns where they are. */
export async function spreadPartitionLeaders(
  urls: string,
  partitions: number,
  verbose: boolean,
): Promise<LeaderPlacement[]> {
  // This process names the streams from its own layout: the one the backend was started with.
  setPartitionLayout(partitions);
  const nc = await connect({ servers: urls.split(',') });
  try {
    const placement = await spreadLeaders(nc);
    if (verbose)
      process.stderr.write(
        `[bench] partition leaders: ${placement.map((p) => `${p.stream}@${p.leader}`).join(' ')}\n`,
      );
    return placement;
  } finally {
    await nc.close();
  }
}

const pidOf = (p: { process: ChildProcess }) => p.process.pid!;

/** SIGTERM first, so `--cpu-prof` profiles get written; SIGKILL whatever is still alive after 10 s. */
export async function stopServices(services: ServiceProcess[]): Promise<void> {
  await Promise.allSettled(
    services.map((s) =>
      Promise.race([
        s.kill('SIGTERM'),
        new Promise((r) => setTimeout(r, 10_000)).then(() => s.kill('SIGKILL')),
      ]),
    ),
  );
}

/** What every gateway and worker of a backend is told about the log: replicas and partitions. */
export function logEnv(o: Pick<TopologyOptions, 'natsNodes' | 'partitions'>): Record<string, string> {
  return { NATS_REPLICAS: o.natsNodes >= 3 ? '3' : '1', NATS_PARTITIONS: String(o.partitions) };
}

export async function startBackend(o: TopologyOptions): Promise<Backend> {
  const nats = await startNats({
    nodes: o.natsNodes,
    verbose: o.verbose,
    ...(o.natsProfile ? { profPort: await freePort('127.0.0.1') } : {}),
  });
  let workers: ServiceProcess[] = [];
  try {
    workers = await Promise.all(
      Array.from({ length: o.workers }, (_, i) =>
        spawnService('worker', {
          env: {
            NATS_URL: nats.urls,
            ...logEnv(o),
            WORKER_ID: `bench-w${i + 1}`,
            STREAM_LOG_LEVEL: 'info',
            ...o.workerEnv,
          },
          nodeArgs: o.workerArgs,
          verbose: o.verbose,
          timeoutMs: 60_000,
        }),
      ),
    );
  } catch (err) {
    await stopServices(workers);
    await nats.stop();
    throw err;
  }
  // Partition leaders spread over the nodes (partition i led by node i), as an operator runs
  // `npm run nats:spread` after provisioning: JetStream places replicas, not leaders.
  let leaders: LeaderPlacement[] | undefined;
  if (o.natsNodes > 1 && o.partitions > 1) {
    try {
      leaders = await spreadPartitionLeaders(nats.urls, o.partitions, o.verbose);
    } catch (err) {
      await stopServices(workers);
      await nats.stop();
      throw err;
    }
  }
  return {
    nats,
    workers,
    roles: { worker: workers.map(pidOf), nats: nats.nodes.map((n) => n.process!.pid!) },
    logEnv: logEnv(o),
    ...(leaders ? { leaders } : {}),
    addGateway: (t, index) =>
      spawnService('gateway', {
        env: {
          NATS_URL: nats.urls,
          ...logEnv(t),
          WEBSOCKET_PORT: '0',
          GATEWAY_ID: `bench-g${index}`,
          STREAM_LOG_LEVEL: 'info',
          ...t.gatewayEnv,
        },
        nodeArgs: t.gatewayArgs,
        verbose: t.verbose,
        timeoutMs: 60_000,
      }),
    async stop() {
      await stopServices(workers);
      await nats.stop();
    },
  };
}

/** The fabric: gateways on the shared backend. */
export async function startFabricTopology(backend: Backend, o: TopologyOptions): Promise<BenchTopology> {
  const gateways: ServiceProcess[] = [];
  try {
    for (let i = 0; i < o.gateways; i++) gateways.push(await backend.addGateway(o, i + 1));
  } catch (err) {
    await stopServices(gateways);
    throw err;
  }
  return {
    urls: gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/ws`),
    roles: { gateway: gateways.map(pidOf), ...backend.roles },
    nats: backend.nats,
    stop: () => stopServices(gateways),
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

/** The Socket.IO server in place of the gateways, on the same backend. */
export async function startSocketIoTopology(backend: Backend): Promise<BenchTopology> {
  const sio = await spawnBaseline('socketio-server', { NATS_URL: backend.nats.urls, ...backend.logEnv });
  return {
    urls: [`http://127.0.0.1:${sio.port}`],
    roles: { gateway: [sio.child.pid!], ...backend.roles },
    nats: backend.nats,
    stop: () => killChild(sio.child),
  };
}

/** The raw uWS fan-out server alone (no broker, no workers). */
export async function startUwsTopology(): Promise<BenchTopology> {
  const uws = await spawnBaseline('uws-fanout-server', {});
  return {
    urls: [`ws://127.0.0.1:${uws.port}/v1/ws`],
    roles: { gateway: [uws.child.pid!] },
    nats: null,
    stop: () => killChild(uws.child),
  };
}

/**
 * The Centrifugo peer: one Centrifugo v6 node (memory engine; the fan-out tier, role `gateway`)
 * and as many publisher processes as the fabric has workers (role `worker`), each running the
 * built-in model and publishing every coalesced event through Centrifugo's HTTP API.
 */
export async function startCentrifugoTopology(o: TopologyOptions): Promise<BenchTopology> {
  const node = await startCentrifugo(undefined, o.verbose);
  const publishers: { child: ChildProcess; port: number }[] = [];
  try {
    for (let i = 0; i < o.workers; i++)
      publishers.push(await spawnBaseline('centrifugo-publisher', { CENTRIFUGO_API_URL: node.apiUrl }));
  } catch (err) {
    await Promise.all(publishers.map((p) => killChild(p.child)));
    await node.stop();
    throw err;
  }
  return {
    urls: [node.wsUrl],
    startUrls: publishers.map((p) => `http://127.0.0.1:${p.port}/start`),
    roles: { gateway: [node.child.pid!], worker: publishers.map((p) => p.child.pid!) },
    nats: null,
    async stop() {
      await Promise.all(publishers.map((p) => killChild(p.child)));
      await node.stop();
    },
  };
}
