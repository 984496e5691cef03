import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import { provisionFabric } from '../../shared/nats/provision.js';

/** A real single nats-server with the fabric's streams provisioned, for component tests. */
export async function startProvisionedNats(): Promise<{ nats: NatsCluster; nc: NatsConnection }> {
  const nats = await startNats({ nodes: 1 });
  const nc = await connect({
    servers: nats.urls.split(','),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  await provisionFabric(nc, {
    NATS_REPLICAS: 1,
    NATS_STORAGE: 'file',
    EVENTS_MAX_AGE_SECONDS: 3600,
    EVENTS_MAX_BYTES: 0,
    NATS_DUPLICATE_WINDOW_MS: 120_000,
  });
  return { nats, nc };
}

/**
 * Registers `beforeAll`/`afterAll` hooks that start a provisioned nats-server for the calling
 * test file and stop it afterwards. Read `.nc` inside tests (it is set once the hook ran).
 */
export function provisionedNatsPerFile(): { readonly nc: NatsConnection; readonly urls: string } {
  let started: { nats: NatsCluster; nc: NatsConnection } | undefined;
  beforeAll(async () => {
    started = await startProvisionedNats();
  });
  afterAll(async () => {
    await started?.nc.close();
    await started?.nats.stop();
  });
  return {
    get nc() {
      if (!started) throw new Error('provisionedNatsPerFile: nats-server is not started yet');
      return started.nc;
    },
    /** The server's client URLs (comma-separated), for a test that needs more connections. */
    get urls() {
      if (!started) throw new Error('provisionedNatsPerFile: nats-server is not started yet');
      return started.nats.urls;
    },
  };
}
