import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayConfig } from '../../shared/config/gateway-config.js';
import { loadConfig } from '../../shared/config/load-config.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createRegistry, serveMetrics } from '../../shared/metrics/registry.js';
import { connectNats } from '../../shared/nats/connect.js';
import { NatsLinkState } from '../../shared/nats/link-state.js';
import { provisionFabric } from '../../shared/nats/provision.js';
import { retryStartupStep } from '../../shared/nats/startup-retry.js';
import { createGateway } from './gateway-app.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { metricsOnClientPort } from './http/health-routes.js';

/** Composition root of a gateway: config, logger, metrics, NATS, then the app. */
async function main(): Promise<void> {
  const config = loadConfig(GatewayConfig);
  const gatewayId = config.GATEWAY_ID ?? `g-${randomBytes(3).toString('hex')}`;
  const log = createLogger({
    name: 'gateway',
    level: config.STREAM_LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    base: { gateway: gatewayId },
  });
  const registry = createRegistry('gateway', gatewayId);
  const metrics = createGatewayMetrics(registry);
  const link = new NatsLinkState((type) => metrics.natsStatus.inc({ type }));
  const nc = await connectNats(config, {
    name: `streamfabric-gateway-${gatewayId}`,
    log,
    onStatus: link.onStatus,
  });
  link.markUp();
  await retryStartupStep('provision streams', () => provisionFabric(nc, config), { log });
  // dist/services/gateway/main.js -> repo root; the static root holds examples/ and dist/.
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const app = await createGateway({
    config,
    gatewayId,
    nc,
    log,
    registry,
    metrics,
    staticRoot: config.STATIC_DIR ?? resolve(repoRoot, 'client'),
    natsConnected: () => link.connected && !nc.isClosed(),
  });
  const port = await app.listen();
  if (config.PROMETHEUS_METRICS_PORT > 0) await serveMetrics(registry, config.PROMETHEUS_METRICS_PORT);
  else if (!metricsOnClientPort(config))
    log.warn(
      'metrics are not served: set PROMETHEUS_METRICS_PORT (AUTH_MODE=jwt keeps /metrics off the client port)',
    );
  log.info({ host: config.WEBSOCKET_HOST, port, ws: '/v1/ws' }, 'gateway listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainMs: config.DRAIN_TIMEOUT_MS }, 'gateway draining');
    await app.drain(signal === 'SIGTERM' ? config.DRAIN_TIMEOUT_MS : 0);
    await nc.drain().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started by a supervisor with an IPC channel (npm start, tests): exit when it goes away.
  if (process.connected) process.on('disconnect', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
