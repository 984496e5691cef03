import { StorageType } from '@nats-io/jetstream';
import { CommonConfig } from '../shared/config/common-config.js';
import { loadConfig } from '../shared/config/load-config.js';
import { createLogger } from '../shared/logging/logger.js';
import { connectNats } from '../shared/nats/connect.js';
import { spreadLeaders } from '../shared/nats/leaders.js';
import { ensurePartitionLayout } from '../shared/nats/provision.js';

/**
 * `npm run -s nats:spread`: puts partition i's stream leaders on the i-th NATS node again
 * (docs/partitions.md): after a node was lost, NATS moved its leaders to the survivors and does not
 * move them back. Prints one line per partitioned stream: its leader now and the wanted one.
 */
const config = loadConfig(CommonConfig);
const log = createLogger({ name: 'nats-spread', level: config.STREAM_LOG_LEVEL });
const nc = await connectNats(config, { name: 'streamfabric-spread', log });
await ensurePartitionLayout(nc, {
  partitions: config.NATS_PARTITIONS,
  replicas: config.NATS_REPLICAS,
  storage: config.NATS_STORAGE === 'memory' ? StorageType.Memory : StorageType.File,
});
const placement = await spreadLeaders(nc, { log: (m) => log.info(m) });
for (const p of placement)
  process.stdout.write(
    `${p.stream}\tleader ${p.leader}\twanted ${p.wanted}${p.leader === p.wanted ? '' : '\tNOT MOVED'}\n`,
  );
await nc.close();
process.exit(placement.every((p) => p.leader === p.wanted) ? 0 : 1);
