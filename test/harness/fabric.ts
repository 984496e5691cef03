import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import {
  killAllServices,
  type ServiceProcess,
  spawnService,
} from '../../scripts/topology/service-process.js';

/** A real fabric for cross-process tests: nats-server(s), gateways and workers as processes. */
export interface TestFabric {
  nats: NatsCluster;
  gateways: ServiceProcess[];
  workers: ServiceProcess[];
  /** WebSocket URL of gateway i. */
  wsUrl(i?: number): string;
  httpUrl(i?: number): string;
  addGateway(env?: Record<string, string>): Promise<ServiceProcess>;
  addWorker(env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export interface FabricOptions {
  gateways?: number;
  workers?: number;
  natsNodes?: number;
  /** Extra env for every service. */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  verbose?: boolean;
  /** Extra settings inside nats-server's `jetstream { }` block (e.g. a small `max_file_store`). */
  jetstreamExtra?: string;
}

/** Starts a fabric on free loopback ports with a temp store dir. Always `stop()` it in `afterAll`. */
export async function startFabric(o: FabricOptions = {}): Promise<TestFabric> {
  const nats = await startNats({
    nodes: o.natsNodes ?? 1,
    verbose: o.verbose ?? false,
    ...(o.jetstreamExtra ? { jetstreamExtra: o.jetstreamExtra } : {}),
  });
  const common = {
    NATS_URL: nats.urls,
    NATS_REPLICAS: String((o.natsNodes ?? 1) >= 3 ? 3 : 1),
    STREAM_LOG_LEVEL: process.env.SF_TEST_LOG_LEVEL ?? 'info',
    // Anonymous dev mode on loopback; security tests pass AUTH_MODE=jwt in gatewayEnv.
    AUTH_MODE: 'dev',
    ...o.env,
  };
  const verbose = o.verbose ?? process.env.SF_TEST_VERBOSE === '1';
  const fabric: TestFabric = {
    nats,
    gateways: [],
    workers: [],
    wsUrl: (i = 0) => `ws://127.0.0.1:${fabric.gateways[i]!.port}/v1/ws`,
    httpUrl: (i = 0) => `http://127.0.0.1:${fabric.gateways[i]!.port}`,
    async addGateway(env = {}) {
      const g = await spawnService('gateway', {
        env: { ...common, WEBSOCKET_PORT: '0', ...o.gatewayEnv, ...env },
        verbose,
      });
      fabric.gateways.push(g);
      return g;
    },
    async addWorker(env = {}) {
      const w = await spawnService('worker', { env: { ...common, ...o.workerEnv, ...env }, verbose });
      fabric.workers.push(w);
      return w;
    },
    async stop() {
      await Promise.allSettled([...fabric.gateways, ...fabric.workers].map((s) => s.kill('SIGKILL')));
      killAllServices();
      await nats.stop();
    },
  };
  try {
    for (let i = 0; i < (o.gateways ?? 1); i++) await fabric.addGateway();
    await Promise.all(Array.from({ length: o.workers ?? 1 }, () => fabric.addWorker()));
  } catch (err) {
    await fabric.stop();
    throw err;
  }
  return fabric;
}
