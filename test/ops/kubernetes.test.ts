import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatewayConfig } from '../../shared/config/gateway-config.js';
import { WorkerConfig } from '../../shared/config/worker-config.js';
import { JOBS_STREAM, partitionNames, workerConsumerName } from '../../shared/nats/subjects.js';
import { ROOT, yamlDocs, yamlFile } from './ops-tools.js';

type Obj = Record<string, unknown>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Obj;
  file: string;
}
interface Container {
  name: string;
  image: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string; valueFrom?: Obj }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; terminationGracePeriodSeconds: number; securityContext: Obj };
}

const DIR = 'deploy/kubernetes';
const files = readdirSync(resolve(ROOT, DIR)).filter((f) => f.endsWith('.yaml') && !f.includes('values'));
const manifests: Manifest[] = files
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((f) => yamlDocs(`${DIR}/${f}`).map((d) => ({ ...(d as unknown as Manifest), file: f })));
const byKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const deployment = (name: string) => byKind('Deployment').find((d) => d.metadata.name === name)!;
const template = (name: string) => deployment(name).spec.template as PodTemplate;
const container = (name: string) => template(name).spec.containers[0]!;
const env = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  Service: 'v1',
  Deployment: 'apps/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  PodDisruptionBudget: 'policy/v1',
  ScaledObject: 'keda.sh/v1alpha1',
  PodMonitor: 'monitoring.coreos.com/v1',
};

describe('kubernetes - manifest structure', () => {
  it('uses known kinds with their current apiVersions, all in the streamfabric namespace', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(8);
    for (const m of manifests) {
      expect({ file: m.file, kind: m.kind, apiVersion: m.apiVersion }).toEqual({
        file: m.file,
        kind: m.kind,
        apiVersion: API_VERSIONS[m.kind],
      });
      if (m.kind !== 'Namespace') expect(m.metadata.namespace).toBe('streamfabric');
    }
    for (const k of Object.keys(API_VERSIONS)) expect(byKind(k).length).toBeGreaterThan(0);
  });

  it('kustomization lists existing files, and every manifest except the operator-CRD ones', () => {
    const k = yamlFile<{ resources: string[] }>(`${DIR}/kustomization.yaml`);
    for (const r of k.resources) expect(existsSync(resolve(ROOT, DIR, r))).toBe(true);
    const left = files.filter((f) => f !== 'kustomization.yaml' && !k.resources.includes(f));
    expect(left).toEqual(['podmonitor.yaml']);
  });

  it('Deployment selectors match their pod labels; Services, PDBs and PodMonitors select existing pods', () => {
    const pods = byKind('Deployment').map((d) => template(d.metadata.name).metadata.labels);
    for (const d of byKind('Deployment')) {
      const sel = (d.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(matches(sel, template(d.metadata.name).metadata.labels)).toBe(true);
    }
    for (const s of byKind('Service')) {
      const sel = s.spec.selector as Record<string, string>;
      expect(pods.some((l) => matches(sel, l))).toBe(true);
    }
    for (const p of [...byKind('PodDisruptionBudget'), ...byKind('PodMonitor')]) {
      const sel = (p.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(pods.some((l) => matches(sel, l))).toBe(true);
    }
  });

  it('HPA and ScaledObject target existing Deployments', () => {
    for (const s of [...byKind('HorizontalPodAutoscaler'), ...byKind('ScaledObject')]) {
      const ref = s.spec.scaleTargetRef as { name: string; kind?: string };
      expect(deployment(ref.name)).toBeDefined();
      if (ref.kind) expect(ref.kind).toBe('Deployment');
    }
  });
});

describe('kubernetes - gateway', () => {
  const c = container('streamfabric-gateway');
  const t = template('streamfabric-gateway');

  it('probes /healthz (liveness) and /readyz (readiness) on the port the gateway listens on', () => {
    const http = c.ports.find((p) => p.name === 'http')!;
    expect(String(http.containerPort)).toBe(env(c).WEBSOCKET_PORT);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const svc = byKind('Service').find((s) => s.metadata.name === 'streamfabric-gateway')!;
    expect((svc.spec.ports as { targetPort: string }[])[0]!.targetPort).toBe('http');
  });

  it('is scraped on PROMETHEUS_METRICS_PORT, not the client port (AUTH_MODE=jwt keeps /metrics off it)', () => {
    expect(env(c).AUTH_MODE).toBe('jwt');
    const port = c.ports.find((p) => p.name === 'metrics')!;
    expect(String(port.containerPort)).toBe(env(c).PROMETHEUS_METRICS_PORT);
    expect(t.metadata.annotations?.['prometheus.io/port']).toBe(String(port.containerPort));
    expect(t.metadata.annotations?.['prometheus.io/path']).toBe('/metrics');
  });

  it('drains on SIGTERM within the grace period: preStop sleep + DRAIN_TIMEOUT_MS < terminationGracePeriodSeconds', () => {
    const cmd = c.lifecycle!.preStop!.exec!.command;
    expect(cmd[0]).toBe('sleep');
    const drainS = Number(env(c).DRAIN_TIMEOUT_MS) / 1000;
    expect(Number(cmd[1]) + drainS + 5).toBeLessThanOrEqual(t.spec.terminationGracePeriodSeconds);
  });

  it('autoscales on CPU and on the active-connections metric the gateway registers', () => {
    const hpa = byKind('HorizontalPodAutoscaler')[0]!;
    const metrics = hpa.spec.metrics as {
      type: string;
      resource?: { name: string };
      pods?: { metric: { name: string } };
    }[];
    expect(metrics.find((m) => m.type === 'Resource')?.resource?.name).toBe('cpu');
    expect(metrics.find((m) => m.type === 'Pods')?.pods?.metric.name).toBe(
      'streamfabric_gateway_connections',
    );
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const adapter = yamlFile<{ rules: { custom: { seriesQuery: string; name: { as: string } }[] } }>(
      `${DIR}/prometheus-adapter-values.yaml`,
    );
    expect(adapter.rules.custom[0]!.name.as).toBe('streamfabric_gateway_connections');
    expect(adapter.rules.custom[0]!.seriesQuery).toContain('streamfabric_gateway_connections');
  });
});

describe('kubernetes - worker', () => {
  const c = container('streamfabric-worker');
  const t = template('streamfabric-worker');

  it('serves metrics and probes on PROMETHEUS_METRICS_PORT', () => {
    const port = c.ports.find((p) => p.name === 'metrics')!;
    expect(String(port.containerPort)).toBe(env(c).PROMETHEUS_METRICS_PORT);
    expect(t.metadata.annotations?.['prometheus.io/port']).toBe(String(port.containerPort));
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('is scaled by KEDA on every JOBS partition consumer the workers really use, summed', () => {
    const so = byKind('ScaledObject')[0]!;
    const triggers = so.spec.triggers as { type: string; name: string; metadata: Record<string, string> }[];
    const partitions = Number(env(c).NATS_PARTITIONS);
    expect(partitions).toBe(3);
    // KEDA's nats-jetstream scaler reads one consumer per trigger: one trigger per partition.
    expect(triggers.map((t) => t.metadata.stream)).toEqual(
      partitionNames(partitions).map((p) => p.jobsStream),
    );
    expect(triggers[0]!.metadata.stream).toBe(`${JOBS_STREAM}_0`);
    for (const trig of triggers) {
      expect(trig.type).toBe('nats-jetstream');
      expect(trig.metadata.consumer).toBe(workerConsumerName('builtin'));
      expect(trig.metadata.natsServerMonitoringEndpoint).toMatch(/:8222$/);
      expect(Number(trig.metadata.lagThreshold)).toBeGreaterThan(0);
    }
    expect(env(c).WORKER_AGENTS).toBe('builtin');
    // Every replica pulls from every partition: the pool scales on the sum of their lags.
    const mod = (so.spec.advanced as { scalingModifiers: Record<string, string> }).scalingModifiers;
    expect((mod.formula ?? '').split('+').map((x) => x.trim())).toEqual(triggers.map((t) => t.name));
    expect(mod.metricType).toBe('AverageValue');
    expect(Number(mod.target)).toBeGreaterThan(0);
  });
});

describe('kubernetes - common', () => {
  it('sets only environment variables the services declare, with values their config accepts', () => {
    for (const [name, schema] of [
      ['streamfabric-gateway', GatewayConfig],
      ['streamfabric-worker', WorkerConfig],
    ] as const) {
      const c = container(name);
      for (const e of c.env)
        expect({ name, v: e.name, ok: e.name in schema.shape }).toEqual({ name, v: e.name, ok: true });
      const literal = Object.fromEntries(
        c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
      );
      expect(() => schema.parse(literal)).not.toThrow();
      expect(env(c).NATS_REPLICAS).toBe('3');
      // Partitioned like the NATS cluster: one partition leader per node, same on both roles.
      expect(env(c).NATS_PARTITIONS).toBe('3');
      expect(schema.parse(literal).NATS_PARTITIONS).toBe(3);
    }
  });

  it('runs containers as non-root with a read-only root filesystem', () => {
    for (const d of byKind('Deployment')) {
      const t = template(d.metadata.name);
      expect(t.spec.securityContext.runAsNonRoot).toBe(true);
      for (const c of t.spec.containers) {
        const sc = (c as unknown as { securityContext: Obj }).securityContext;
        expect(sc.readOnlyRootFilesystem).toBe(true);
        expect(sc.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('NATS Helm values: a 3-node JetStream cluster on persistent volumes with sync_interval always', () => {
    const v = yamlFile<{
      config: {
        cluster: { enabled: boolean; replicas: number };
        jetstream: {
          enabled: boolean;
          fileStore: { enabled: boolean; pvc: { enabled: boolean } };
          merge: Obj;
        };
        monitor: { enabled: boolean; port: number };
      };
      promExporter: { enabled: boolean };
    }>(`${DIR}/nats/values.yaml`);
    expect(v.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    // As many nodes as the services' partitions: each node leads one partition.
    expect(env(container('streamfabric-worker')).NATS_PARTITIONS).toBe(String(v.config.cluster.replicas));
    expect(v.config.jetstream.enabled).toBe(true);
    expect(v.config.jetstream.fileStore).toMatchObject({ enabled: true, pvc: { enabled: true } });
    expect(v.config.jetstream.merge.sync_interval).toBe('always');
    expect(v.config.monitor).toMatchObject({ enabled: true, port: 8222 });
    expect(v.promExporter.enabled).toBe(true);
  });
});
