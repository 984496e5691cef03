import type { Counter, Registry } from 'prom-client';

interface SeriesValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * Hot-path metrics. prom-client's `Counter.inc` (~50-180 ns with labels) and `Histogram.observe`
 * (~250-570 ns: label hashing per call) are too dear for every delivered event, so these keep
 * plain numbers on the hot path and hand them to the registry only when it is scraped.
 */

/** A count kept as a plain number and folded into a prom-client Counter at scrape time. */
export class FastCounter {
  private pending = 0;

  inc(n = 1): void {
    this.pending += n;
  }

  /** Moves the pending count into `counter` (call from the Counter's `collect()`). */
  flushInto(counter: Counter<string>, labels: Record<string, string> = {}): void {
    if (this.pending === 0) return;
    counter.inc(labels, this.pending);
    this.pending = 0;
  }
}

/**
 * An unlabelled histogram with fixed buckets: `observe` is a short scan and two additions.
 * It registers itself and exposes the standard `_bucket{le}`, `_sum`, `_count` series.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(buckets.length);
    registry.registerMetric(this as never);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** The prom-client metric interface: what the registry formats on a scrape. */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: SeriesValue[];
  }> {
    const values: SeriesValue[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += this.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le }, value: cumulative });
    });
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.count });
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
