import { CommonConfig } from '../shared/config/common-config.js';
import { loadConfig } from '../shared/config/load-config.js';
import { createLogger } from '../shared/logging/logger.js';
import { connectNats } from '../shared/nats/connect.js';
import { spreadLeaders } from '../shared/nats/leaders.js';
import { provisionFabric } from '../shared/nats/provision.js';

/**
 * Provisions the fabric's streams and session bucket on NATS_URL, then exits. Gateways and workers
 * do this themselves at start; this is for processes that only join the fabric (the AutoGen
 * bridge and its tests), so the stream definitions stay in one place (shared/nats/provision.ts).
 */
const config = loadConfig(CommonConfig);
const log = createLogger({ name: 'provision', level: config.STREAM_LOG_LEVEL });
const nc = await connectNats(config, { name: 'streamfabric-provision', log });
await provisionFabric(nc, config);
// One process spreads the partition leaders over the nodes (docs/partitions.md).
if (config.NATS_REPLICAS > 1 && config.NATS_PARTITIONS > 1) await spreadLeaders(nc);
log.info('fabric provisioned');
await nc.close();
