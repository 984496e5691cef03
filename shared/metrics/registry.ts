import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per process, with the default process metrics (prefixed `streamfabric_`) and
 * two labels on every series: `service` (gateway, worker) and `service_id` (GATEWAY_ID /
 * WORKER_ID). Not `instance`: Prometheus sets that one itself (host:port of the target).
 */
export function createRegistry(service: string, id: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, service_id: id });
  collectDefaultMetrics({ register: registry, prefix: 'streamfabric_' });
  // prom-client exposes these three gauges with a `_total` suffix, which Prometheus reserves for
  // counters (`promtool check metrics` flags them). The per-type gauges without the suffix
  // (`streamfabric_nodejs_active_handles{type=...}`, ...) stay and carry the same figures.
  for (const kind of ['handles', 'requests', 'resources'])
    registry.removeSingleMetric(`streamfabric_nodejs_active_${kind}_total`);
  return registry;
}

/**
 * Serves `GET /metrics` on its own port (workers' only listener; gateways' too when
 * PROMETHEUS_METRICS_PORT is set), plus `/healthz` (alive) and `/readyz` (`ready()`, e.g.
 * NATS connected) for orchestrator probes. Resolves with the bound port.
 */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host = '0.0.0.0',
  ready: () => boolean = () => true,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'x-content-type-options': 'nosniff' });
          res.end(body);
        })
        .catch(() => {
          // A failing collector's message may name internals; the scrape only needs the status.
          res.writeHead(500);
          res.end('metrics collection failed');
        });
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'not_ready' }));
      return;
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : port };
}
