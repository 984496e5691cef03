import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { CommonConfig } from '../config/common-config.js';
import type { Logger } from '../logging/logger.js';

/**
 * Connects to NATS and keeps reconnecting forever: a broker outage must never kill a
 * gateway or a worker, they wait and carry on. Status changes are logged with the reason.
 */
export async function connectNats(
  config: Pick<CommonConfig, 'NATS_URL' | 'NATS_CREDS' | 'NATS_USER' | 'NATS_PASSWORD' | 'NATS_TOKEN'>,
  opts: { name: string; log: Logger; onStatus?: (type: string) => void },
): Promise<NatsConnection> {
  const nc = await connect({
    servers: config.NATS_URL,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    waitOnFirstConnect: true,
    // A server that hangs (not one that dies: its socket closes at once) is left after 2 missed
    // pings, 10 s, instead of 20 s; reads lost with it are re-sent on reconnect (hedged-read.ts).
    pingInterval: 5_000,
    maxPingOut: 2,
    // Otherwise every request (each JetStream publish, KV op, direct get) builds two Error objects
    // with stack traces up front: ~15 % of a busy worker's CPU in profiles.
    noAsyncTraces: true,
    ...(config.NATS_CREDS
      ? {
          authenticator: credsAuthenticator(
            new TextEncoder().encode(readFileSync(config.NATS_CREDS, 'utf8')),
          ),
        }
      : {}),
    ...(config.NATS_USER ? { user: config.NATS_USER, pass: config.NATS_PASSWORD } : {}),
    ...(config.NATS_TOKEN ? { token: config.NATS_TOKEN } : {}),
  });
  opts.log.info({ server: nc.getServer() }, 'nats connected');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'ping' || s.type === 'staleConnection') continue;
      opts.onStatus?.(s.type);
      const level = s.type === 'disconnect' || s.type === 'error' ? 'warn' : 'info';
      opts.log[level]({ status: s.type, data: 'server' in s ? s.server : undefined }, 'nats status');
    }
  })();
  return nc;
}
