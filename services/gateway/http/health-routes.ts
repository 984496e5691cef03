import type { Registry } from 'prom-client';
import type { HttpResult } from '../transport/connection.js';

export interface Readiness {
  natsConnected(): boolean;
  draining(): boolean;
}

/** `/healthz`: the process is alive. */
export function healthz(): HttpResult {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"ok"}' };
}

/** `/readyz`: NATS is connected and the gateway is not draining (load balancers stop routing otherwise). */
export function readyz(r: Readiness): HttpResult {
  const nats = r.natsConnected();
  const draining = r.draining();
  const ready = nats && !draining;
  return {
    status: ready ? 200 : 503,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      status: ready ? 'ready' : 'not_ready',
      nats: nats ? 'connected' : 'disconnected',
      draining,
    }),
  };
}

/** METRICS_ON_CLIENT_PORT: `auto` serves /metrics on the client port only in dev mode. */
export function metricsOnClientPort(c: {
  METRICS_ON_CLIENT_PORT: 'auto' | 'true' | 'false';
  AUTH_MODE: 'dev' | 'jwt';
}): boolean {
  return c.METRICS_ON_CLIENT_PORT === 'auto' ? c.AUTH_MODE !== 'jwt' : c.METRICS_ON_CLIENT_PORT === 'true';
}

/** `/metrics` in the Prometheus text format. */
export async function metricsRoute(registry: Registry): Promise<HttpResult> {
  return { status: 200, headers: { 'content-type': registry.contentType }, body: await registry.metrics() };
}
