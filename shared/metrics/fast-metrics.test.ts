import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './fast-metrics.js';

describe('fast metrics - same exposition as prom-client', () => {
  it('FastHistogram renders exactly what a prom-client Histogram renders for the same observations', async () => {
    const buckets = [0.001, 0.01, 0.1, 1];
    const a = new Registry();
    const b = new Registry();
    for (const r of [a, b]) r.setDefaultLabels({ service: 'gateway', service_id: 'g1' });
    const fast = new FastHistogram('x_latency_seconds', 'latency', buckets, a);
    const ref = new Histogram({ name: 'x_latency_seconds', help: 'latency', buckets, registers: [b] });
    for (const v of [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.7, 3, 12.5]) {
      fast.observe(v);
      ref.observe(v);
    }
    expect(await a.metrics()).toBe(await b.metrics());
  });

  it('FastCounter adds plain numbers and folds them into its Counter on each scrape', async () => {
    const r = new Registry();
    const fast = new FastCounter();
    new Counter({
      name: 'x_events_total',
      help: 'events',
      labelNames: ['source'] as const,
      registers: [r],
      collect() {
        fast.flushInto(this, { source: 'live' });
      },
    });
    fast.inc();
    fast.inc(4);
    expect(await r.metrics()).toContain('x_events_total{source="live"} 5');
    fast.inc(2);
    expect(await r.metrics()).toContain('x_events_total{source="live"} 7');
    expect(await r.metrics()).toContain('x_events_total{source="live"} 7');
  });
});
