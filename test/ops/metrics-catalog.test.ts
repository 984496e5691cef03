import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createGatewayMetrics } from '../../services/gateway/gateway-metrics.js';
import { createWorkerMetrics } from '../../services/worker/worker-metrics.js';
import { createRegistry } from '../../shared/metrics/registry.js';
import { optionalTool, readRepo, run } from './ops-tools.js';

/** Metric names a registry exposes, with the series suffixes a histogram adds. */
async function registered(reg: Registry): Promise<{ names: Set<string>; own: string[] }> {
  const json = await reg.getMetricsAsJSON();
  const names = new Set<string>();
  for (const m of json) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  return { names, own: json.map((m) => m.name).filter((n) => !/^streamfabric_(process|nodejs)_/.test(n)) };
}

async function allMetrics() {
  const g = createRegistry('gateway', 'g');
  createGatewayMetrics(g);
  const w = createRegistry('worker', 'w');
  createWorkerMetrics(w);
  const a = await registered(g);
  const b = await registered(w);
  return { names: new Set([...a.names, ...b.names]), own: [...a.own, ...b.own] };
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readRepo('deploy/grafana/dashboards/streamfabric.json')) as { panels: Panel[] };
const exprs = dashboard.panels.flatMap((p) =>
  (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
);

describe('metrics catalog - names follow the conventions', () => {
  it('promtool check metrics accepts every process exposition, default process metrics included', async (ctx) => {
    const promtool = optionalTool({ bin: 'promtool', pkg: 'prometheus' });
    if (!promtool) return ctx.skip('promtool is not available');
    const g = createRegistry('gateway', 'g');
    createGatewayMetrics(g);
    const w = createRegistry('worker', 'w');
    createWorkerMetrics(w);
    for (const reg of [g, w]) {
      const r = spawnSync(promtool, ['check', 'metrics'], { input: await reg.metrics(), encoding: 'utf8' });
      expect({ code: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, out: '' });
    }
  });

  it('every service metric is streamfabric_<component>_<thing>_<unit|total> with bounded labels', async () => {
    const { own } = await allMetrics();
    expect(own.length).toBeGreaterThanOrEqual(20);
    for (const n of own) expect(n).toMatch(/^streamfabric_(gateway|worker)_[a-z0-9_]+$/);
    const g = createRegistry('gateway', 'g');
    createGatewayMetrics(g);
    const w = createRegistry('worker', 'w');
    createWorkerMetrics(w);
    for (const m of [...(await g.getMetricsAsJSON()), ...(await w.getMetricsAsJSON())]) {
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      for (const v of m.values)
        for (const l of Object.keys(v.labels)) expect(['sid', 'session']).not.toContain(l);
    }
  });
});

describe('metrics catalog - Grafana dashboard', () => {
  it('every PromQL expression references only metrics the services register', async () => {
    const { names } = await allMetrics();
    expect(exprs.length).toBeGreaterThanOrEqual(15);
    for (const { panel, expr } of exprs) {
      const refs = expr.match(/streamfabric_[a-z0-9_]+/g) ?? [];
      expect({ panel, refs: refs.length > 0 }).toEqual({ panel, refs: true });
      for (const r of refs)
        expect({ panel, metric: r, registered: names.has(r) }).toEqual({
          panel,
          metric: r,
          registered: true,
        });
    }
  });

  it('covers latency p50/p99, streams, tokens/s, resumes and worker lag', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    for (const needle of [
      'histogram_quantile(0.5, sum by (le) (rate(streamfabric_gateway_event_latency_seconds_bucket',
      'histogram_quantile(0.99, sum by (le) (rate(streamfabric_gateway_event_latency_seconds_bucket',
      'streamfabric_gateway_active_sessions',
      'rate(streamfabric_worker_model_tokens_total',
      'streamfabric_gateway_resumes_total',
      'streamfabric_worker_jobs_pending',
      'streamfabric_worker_job_wait_seconds_bucket',
    ])
      expect(all).toContain(needle);
  });

  it('promtool accepts every expression', (ctx) => {
    const promtool = optionalTool({ bin: 'promtool', pkg: 'prometheus' });
    if (!promtool) return ctx.skip('promtool is not available');
    const dir = mkdtempSync(join(tmpdir(), 'sf-rules-'));
    try {
      const file = join(dir, 'rules.yml');
      const rules = exprs.map((e, i) => ({ record: `streamfabric:dashboard_${i}`, expr: e.expr }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = run(promtool, ['check', 'rules', file]);
      expect(r.code, r.out).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('metrics catalog - docs/operations.md', () => {
  it('the Operations metrics table documents every service metric', async () => {
    const { own } = await allMetrics();
    const ops = readRepo('docs/operations.md');
    expect(ops).toContain('## Metrics');
    for (const n of own)
      expect({ metric: n, documented: ops.includes(`| \`${n}\``) }).toEqual({ metric: n, documented: true });
  });
});
