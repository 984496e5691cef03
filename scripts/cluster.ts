import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { spreadLeaders } from '../shared/nats/leaders.js';
import { setPartitionLayout } from '../shared/nats/subjects.js';
import { startCluster } from './topology/cluster.js';
import { freePort } from './topology/free-port.js';

/**
 * `npm run cluster`: the production topology on one machine, as plain processes: a 3-node
 * NATS JetStream cluster (R3), 2 gateways behind HAProxy (WebSockets, /readyz health checks),
 * N workers, and Prometheus scraping all of them. Ctrl-C stops everything. The fabric runs with
 * NATS_PARTITIONS=3 (or the environment's value) and the partition leaders spread over the three
 * nodes (docs/partitions.md).
 *
 *   npm run cluster -- --workers 4 --gateways 3 --port 8080 --prometheus-port 9090
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateways: { type: 'string', default: '2' },
      workers: { type: 'string', default: '2' },
      port: { type: 'string', default: '8080' },
      'prometheus-port': { type: 'string', default: '9090' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const log = (m: string) => process.stderr.write(`[streamfabric] ${m}\n`);
  const port = await freeOr(Number(values.port), log);
  const prometheusPort = await freeOr(Number(values['prometheus-port']), log);
  const partitions = process.env.NATS_PARTITIONS ?? '3';
  log('starting a 3-node NATS cluster, gateways, workers, HAProxy and Prometheus...');
  const cluster = await startCluster({
    gateways: Number(values.gateways),
    workers: Number(values.workers),
    lbPort: port,
    prometheusPort,
    dataDir: resolve(process.env.STREAMFABRIC_DATA_DIR ?? '.data', 'cluster'),
    verbose: values.verbose,
    env: { NATS_PARTITIONS: partitions },
  });
  if (Number(partitions) > 1) {
    setPartitionLayout(Number(partitions));
    const nc = await connect({ servers: cluster.nats.urls.split(',') });
    const placement = await spreadLeaders(nc);
    await nc.close();
    log(`partition leaders: ${placement.map((p) => `${p.stream}@${p.leader}`).join(' ')}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping...');
    await cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  log('');
  log(`StreamFabric cluster is running (data in ${cluster.dataDir}).`);
  log(`  load balancer (HAProxy): ${cluster.lb.url}/examples/basic.html   WebSocket: ${cluster.lb.wsUrl}`);
  log(`  sessions API:            ${cluster.lb.url}/v1/sessions`);
  log(`  HAProxy stats:           ${cluster.lb.metricsUrl.replace(/\/metrics$/, '/stats')}`);
  log(`  Prometheus:              ${cluster.prometheus.url}  (config ${cluster.prometheus.configPath})`);
  log(`  NATS:                    ${cluster.nats.urls}`);
  log(
    `  gateways: ${cluster.gateways.map((g) => g.port).join(', ')}   worker metrics: ${cluster.workerMetrics.join(', ')}`,
  );
  log('Press Ctrl-C to stop.');
}

/** The wanted port when it is free, else any free port (a developer may already run something there). */
async function freeOr(port: number, log: (m: string) => void): Promise<number> {
  const got = await new Promise<number>((r) => {
    const s = createServer();
    s.once('error', () => r(-1));
    s.listen(port, '127.0.0.1', () => s.close(() => r(port)));
  });
  if (got > 0) return got;
  const other = await freePort();
  log(`port ${port} is busy; using ${other}`);
  return other;
}

main().catch((err: unknown) => {
  process.stderr.write(`[streamfabric] cluster failed to start: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
