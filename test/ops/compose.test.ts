import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureTool, NATS_SERVER } from '../../scripts/tools/ensure-tool.js';
import { haproxyConfig } from '../../scripts/topology/haproxy.js';
import { GatewayConfig } from '../../shared/config/gateway-config.js';
import { WorkerConfig } from '../../shared/config/worker-config.js';
import { optionalTool, ROOT, readRepo, run, yamlFile } from './ops-tools.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }> | string[];
  stop_grace_period?: string;
}
const compose = yamlFile<{ services: Record<string, Service>; volumes: Record<string, unknown> }>(
  'docker-compose.yml',
);
const services = compose.services;
const names = Object.keys(services);
const gateways = names.filter((n) => n.startsWith('gateway'));

describe('docker-compose - topology', () => {
  it('has a 3-node NATS cluster, 2 gateways, workers, a load balancer, Prometheus and Grafana', () => {
    expect(names.filter((n) => n.startsWith('nats-')).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    expect(gateways.sort()).toEqual(['gateway-1', 'gateway-2']);
    for (const n of ['worker', 'lb', 'prometheus', 'grafana']) expect(names).toContain(n);
  });

  it('gives every long-running service a health check and publishes only the entry points', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, test: s.healthcheck?.test?.[0] }).toEqual({ name, test: 'CMD' });
    }
    const published = Object.entries(services).flatMap(([n, s]) => (s.ports ?? []).map((p) => `${n}:${p}`));
    expect(published.sort()).toEqual(
      ['grafana:3000:3000', 'lb:8080:8080', 'lb:8405:8405', 'prometheus:9090:9090'].sort(),
    );
    for (const g of gateways) {
      expect(services[g]!.healthcheck!.test.join(' ')).toContain('/readyz');
      expect(services[g]!.expose).toEqual([services[g]!.environment?.WEBSOCKET_PORT ?? '8080']);
    }
    expect(services.worker!.healthcheck!.test.join(' ')).toContain(
      `:${services.worker!.environment!.PROMETHEUS_METRICS_PORT}/readyz`,
    );
  });

  it('starts gateways and workers only once every NATS node is healthy, with R3 streams on all nodes', () => {
    for (const n of [...gateways, 'worker']) {
      const s = services[n]!;
      expect(s.depends_on).toEqual({
        'nats-1': { condition: 'service_healthy' },
        'nats-2': { condition: 'service_healthy' },
        'nats-3': { condition: 'service_healthy' },
      });
      expect(s.environment!.NATS_REPLICAS).toBe('3');
      // One partition leader per NATS node, the same on every gateway and worker.
      expect(s.environment!.NATS_PARTITIONS).toBe('3');
      expect(s.environment!.NATS_URL!.split(',')).toEqual([
        'nats://nats-1:4222',
        'nats://nats-2:4222',
        'nats://nats-3:4222',
      ]);
    }
  });

  it('sets only environment variables the services declare', () => {
    const known = (n: string) => new Set(Object.keys((n === 'worker' ? WorkerConfig : GatewayConfig).shape));
    for (const n of [...gateways, 'worker']) {
      for (const k of Object.keys(services[n]!.environment ?? {}))
        expect({ n, k, ok: known(n).has(k) }).toEqual({ n, k, ok: true });
      // Whatever the compose file sets must parse: a typo'd value fails here, not at `up`. Gateways
      // get the Dockerfile's WEBSOCKET_HOST=0.0.0.0 too (dev mode refuses to start there).
      const image = n === 'worker' ? {} : { WEBSOCKET_HOST: '0.0.0.0' };
      expect(() =>
        (n === 'worker' ? WorkerConfig : GatewayConfig).parse({ ...image, ...services[n]!.environment }),
      ).not.toThrow();
    }
  });

  it('gives gateways more stop grace than their drain timeout', () => {
    for (const g of gateways) {
      const s = services[g]!;
      expect(Number.parseInt(s.stop_grace_period!, 10) * 1000).toBeGreaterThan(
        Number(s.environment!.DRAIN_TIMEOUT_MS),
      );
    }
  });
});

describe('docker-compose - build contexts and mounted files', () => {
  it('builds each service from an existing context with a multi-stage, non-root node:20-slim Dockerfile', () => {
    const built = Object.entries(services).filter(([, s]) => s.build);
    expect(built.map(([n]) => n).sort()).toEqual([...gateways, 'worker'].sort());
    for (const [name, s] of built) {
      const context = resolve(ROOT, s.build!.context);
      const dockerfile = resolve(context, s.build!.dockerfile);
      expect(existsSync(context)).toBe(true);
      expect(existsSync(dockerfile)).toBe(true);
      const text = readFileSync(dockerfile, 'utf8');
      const froms = text.split('\n').filter((l) => l.startsWith('FROM '));
      expect(froms.length).toBeGreaterThanOrEqual(2);
      expect(froms.every((l) => l.startsWith('FROM node:20-slim'))).toBe(true);
      const user = text
        .split('\n')
        .filter((l) => l.startsWith('USER '))
        .at(-1);
      expect(user).toBeDefined();
      expect(['USER root', 'USER 0']).not.toContain(user);
      const kind = name.startsWith('gateway') ? 'gateway' : 'worker';
      expect(text).toContain(`CMD ["node", "dist/services/${kind}/main.js"]`);
      // Every COPY source of the build stage exists in the context.
      for (const line of text.split('\n').filter((l) => l.startsWith('COPY ') && !l.includes('--from'))) {
        const parts = line.split(/\s+/).slice(1, -1);
        for (const p of parts)
          expect({ line, p, exists: existsSync(resolve(context, p)) }).toEqual({ line, p, exists: true });
      }
    }
    expect(existsSync(resolve(ROOT, '.dockerignore'))).toBe(true);
  });

  it('mounts only files and folders that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.')) {
          expect({ name, v, declared: src in compose.volumes }).toEqual({ name, v, declared: true });
          continue;
        }
        expect({ name, v, exists: existsSync(resolve(ROOT, src)) }).toEqual({ name, v, exists: true });
      }
    }
  });

  it('Prometheus scrapes every gateway and the workers on their metrics port; HAProxy balances every gateway', () => {
    const prom = yamlFile<{
      scrape_configs: {
        job_name: string;
        static_configs?: { targets: string[] }[];
        dns_sd_configs?: { names: string[]; port: number }[];
      }[];
    }>('deploy/prometheus/prometheus.yml');
    const job = (n: string) => prom.scrape_configs.find((j) => j.job_name === n)!;
    const gwEnv = services[gateways[0]!]!.environment!;
    expect(gwEnv.AUTH_MODE).toBe('jwt');
    expect(job('streamfabric-gateway').static_configs![0]!.targets.sort()).toEqual(
      gateways.map((g) => `${g}:${gwEnv.PROMETHEUS_METRICS_PORT}`).sort(),
    );
    const w = job('streamfabric-worker').dns_sd_configs![0]!;
    expect(w.names).toEqual(['worker']);
    expect(String(w.port)).toBe(services.worker!.environment!.PROMETHEUS_METRICS_PORT);
    expect(job('haproxy').static_configs![0]!.targets).toEqual(['lb:8405']);
    const cfg = readRepo('deploy/haproxy/haproxy.cfg');
    for (const g of gateways) expect(cfg).toContain(`server ${g} ${g}:8080`);
  });

  it('the compose HAProxy config keeps the load-balancing policy of the local cluster', () => {
    const policy = (text: string) =>
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^(balance|option httpchk|http-check|timeout tunnel|option redispatch|mode)/.test(l));
    const generated = haproxyConfig({ host: '127.0.0.1', port: 1, statsPort: 2, gateways: [] });
    expect(policy(readRepo('deploy/haproxy/haproxy.cfg'))).toEqual(policy(generated));
  });
});

describe('docker-compose - validated by the real tools', () => {
  it('docker-compose config -q accepts the file', (ctx) => {
    const bin = optionalTool({ bin: 'docker-compose', pkg: 'docker-compose' });
    if (!bin) return ctx.skip('docker-compose is not available');
    // Gateways authenticate (AUTH_MODE=jwt): the file requires the secret, and says so without it.
    const missing = run(bin, ['-f', 'docker-compose.yml', 'config', '-q'], { STREAMFABRIC_JWT_SECRET: '' });
    expect(missing.code).not.toBe(0);
    expect(missing.out).toContain('STREAMFABRIC_JWT_SECRET');
    const r = run(bin, ['-f', 'docker-compose.yml', 'config', '-q'], {
      STREAMFABRIC_JWT_SECRET: 'a-compose-test-secret-of-at-least-32-chars',
    });
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 600_000);

  it('promtool, haproxy -c and nats-server -t accept the configs', (ctx) => {
    const promtool = optionalTool({ bin: 'promtool', pkg: 'prometheus' });
    const haproxy = optionalTool({ bin: 'haproxy', pkg: 'haproxy' });
    if (!promtool || !haproxy) return ctx.skip('promtool or haproxy is not available');
    const p = run(promtool, ['check', 'config', 'deploy/prometheus/prometheus.yml']);
    expect(p.code, p.out).toBe(0);
    const h = run(haproxy, ['-c', '-f', 'deploy/haproxy/haproxy.cfg']);
    expect(h.code, h.out).toBe(0);
    expect(h.out).toContain('Configuration file is valid');
    for (const node of ['nats-1', 'nats-2', 'nats-3']) {
      const n = run(ensureTool(NATS_SERVER), ['-t', '-c', 'deploy/nats/nats-cluster.conf'], {
        SERVER_NAME: node,
      });
      expect(n.code, n.out).toBe(0);
    }
    expect(readRepo('deploy/nats/nats-cluster.conf')).toMatch(/^\s*sync_interval: always$/m);
  }, 600_000);
});
