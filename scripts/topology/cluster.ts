import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptTools } from '../tools/ensure-apt.js';
import type { ExternalProcess } from './external-process.js';
import { freePort } from './free-port.js';
import { startHaproxy } from './haproxy.js';
import { type NatsCluster, startNats } from './nats-process.js';
import { startPrometheus } from './prometheus.js';
import { killAllServices, type ServiceProcess, spawnService } from './service-process.js';

export interface ClusterOptions {
  gateways?: number;
  workers?: number;
  natsNodes?: number;
  /** Load balancer port (default: a free one). */
  lbPort?: number;
  /** Prometheus port (default: a free one). */
  prometheusPort?: number;
  scrapeIntervalSeconds?: number;
  /** Working directory for NATS stores and generated configs (default: a temp dir, removed on stop). */
  dataDir?: string;
  env?: Record<string, string>;
  verbose?: boolean;
}

/** The production topology on one machine, every part a real process. */
export interface LocalCluster {
  nats: NatsCluster;
  gateways: (ServiceProcess & { id: string })[];
  workers: ServiceProcess[];
  /** Worker metrics endpoints (`host:port`). */
  workerMetrics: string[];
  lb: ExternalProcess & { url: string; wsUrl: string; metricsUrl: string; configPath: string };
  prometheus: ExternalProcess & { url: string; configPath: string };
  dataDir: string;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/**
 * Starts NATS (a 3-node JetStream cluster, streams R3), gateways, workers (each serving
 * /metrics on its own PROMETHEUS_METRICS_PORT), HAProxy in front of the gateways and a
 * Prometheus scraping every gateway, worker, HAProxy and itself. HAProxy and Prometheus come
 * from Debian's packages (installed when missing and running as root).
 */
export async function startCluster(o: ClusterOptions = {}): Promise<LocalCluster> {
  const bins = ensureAptTools([
    { bin: 'haproxy', pkg: 'haproxy' },
    { bin: 'prometheus', pkg: 'prometheus' },
  ]);
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'sf-cluster-'));
  mkdirSync(dataDir, { recursive: true });
  const verbose = o.verbose ?? false;
  const natsNodes = o.natsNodes ?? 3;
  const nats = await startNats({ nodes: natsNodes, dataDir: join(dataDir, 'nats'), verbose: false });
  const gateways: (ServiceProcess & { id: string })[] = [];
  const workers: ServiceProcess[] = [];
  const workerMetrics: string[] = [];
  const externals: ExternalProcess[] = [];
  const stop = async () => {
    await Promise.allSettled(externals.map((e) => e.stop()));
    await Promise.allSettled([...gateways, ...workers].map((s) => s.kill('SIGTERM')));
    killAllServices();
    await nats.stop();
    if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const common = {
      NATS_URL: nats.urls,
      NATS_REPLICAS: String(natsNodes >= 3 ? 3 : 1),
      ...o.env,
    };
    const addGateway = async (i: number) => {
      const g = await spawnService('gateway', {
        env: { ...common, GATEWAY_ID: `gateway-${i}`, WEBSOCKET_HOST: HOST, WEBSOCKET_PORT: '0' },
        verbose,
      });
      gateways.push(Object.assign(g, { id: `gateway-${i}` }));
    };
    // The first gateway provisions the streams alone; the rest start together.
    await addGateway(1);
    await Promise.all(Array.from({ length: (o.gateways ?? 2) - 1 }, (_, i) => addGateway(i + 2)));
    await Promise.all(
      Array.from({ length: o.workers ?? 2 }, async (_, i) => {
        const port = await freePort(HOST);
        workerMetrics.push(`${HOST}:${port}`);
        workers.push(
          await spawnService('worker', {
            env: { ...common, WORKER_ID: `worker-${i + 1}`, PROMETHEUS_METRICS_PORT: String(port) },
            verbose,
          }),
        );
      }),
    );
    gateways.sort((a, b) => a.id.localeCompare(b.id));
    const lbPort = o.lbPort ?? (await freePort(HOST));
    const statsPort = await freePort(HOST);
    const lb = await startHaproxy(
      bins.haproxy!,
      dataDir,
      {
        host: HOST,
        port: lbPort,
        statsPort,
        gateways: gateways.map((g) => ({ name: g.id, host: HOST, port: g.port })),
      },
      verbose,
    );
    externals.push(lb);
    const prometheus = await startPrometheus(
      bins.prometheus!,
      join(dataDir, 'prometheus'),
      {
        host: HOST,
        port: o.prometheusPort ?? (await freePort(HOST)),
        scrapeIntervalSeconds: o.scrapeIntervalSeconds ?? 5,
        jobs: {
          'streamfabric-gateway': gateways.map((g) => `${HOST}:${g.port}`),
          'streamfabric-worker': workerMetrics,
          haproxy: [`${HOST}:${statsPort}`],
        },
      },
      verbose,
    );
    externals.push(prometheus);
    return {
      nats,
      gateways,
      workers,
      workerMetrics,
      lb: Object.assign(lb, {
        url: `http://${HOST}:${lbPort}`,
        wsUrl: `ws://${HOST}:${lbPort}/v1/ws`,
        metricsUrl: `http://${HOST}:${statsPort}/metrics`,
      }),
      prometheus,
      dataDir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
