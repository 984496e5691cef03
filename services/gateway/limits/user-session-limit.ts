import type { NatsConnection } from '@nats-io/transport-node';
import type { GatewayConfig } from '../../../shared/config/gateway-config.js';
import { UserSessionIndex } from '../../../shared/nats/user-session-index.js';
import type { UserSessionLimit } from '../session/session-service.js';

/**
 * MAX_SESSIONS_PER_USER, when it applies: in jwt mode only, because dev mode has a single
 * shared anonymous user (a per-user cap there would be a global cap on the local fabric).
 */
export async function createUserSessionLimit(
  nc: NatsConnection,
  config: GatewayConfig,
): Promise<UserSessionLimit | undefined> {
  if (config.AUTH_MODE !== 'jwt' || config.MAX_SESSIONS_PER_USER === 0) return undefined;
  const index = await UserSessionIndex.open(nc, {
    replicas: config.NATS_REPLICAS,
    storage: config.NATS_STORAGE,
    ttlMs: config.EVENTS_MAX_AGE_SECONDS * 1000,
  });
  return { index, max: config.MAX_SESSIONS_PER_USER };
}
