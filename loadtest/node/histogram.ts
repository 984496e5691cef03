/**
 * A small mergeable latency histogram (milliseconds): 0.05 ms buckets below 10 ms, then
 * buckets 1 % wide up to ~10 minutes. Load-client processes send their buckets to the runner,
 * which adds them up; percentiles are read from the merged buckets (error < 1 %).
 */
const LINEAR_LIMIT_MS = 10;
const LINEAR_STEP_MS = 0.05;
const LINEAR_BUCKETS = LINEAR_LIMIT_MS / LINEAR_STEP_MS; // 200
const LOG_BASE = Math.log(1.01);
const LOG_BUCKETS = Math.ceil(Math.log(600_000 / LINEAR_LIMIT_MS) / LOG_BASE) + 1;
export const HISTOGRAM_BUCKETS = LINEAR_BUCKETS + LOG_BUCKETS;

function bucketOf(ms: number): number {
  if (!(ms > 0)) return 0;
  if (ms < LINEAR_LIMIT_MS) return Math.floor(ms / LINEAR_STEP_MS);
  const b = LINEAR_BUCKETS + Math.floor(Math.log(ms / LINEAR_LIMIT_MS) / LOG_BASE);
  return Math.min(b, HISTOGRAM_BUCKETS - 1);
}

/** Upper bound of a bucket (a percentile is reported as the bound: never optimistic). */
function upperOf(b: number): number {
  if (b < LINEAR_BUCKETS) return (b + 1) * LINEAR_STEP_MS;
  return LINEAR_LIMIT_MS * Math.exp((b - LINEAR_BUCKETS + 1) * LOG_BASE);
}

export interface HistogramSummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  readonly counts = new Uint32Array(HISTOGRAM_BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(ms: number): void {
    const v = Math.max(ms, 0);
    const b = bucketOf(v);
    this.counts[b] = this.counts[b]! + 1;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }

  /** Adds another histogram's data (from another process) into this one. */
  merge(o: HistogramData): void {
    for (const [b, c] of o.buckets) this.counts[b] = this.counts[b]! + c;
    this.count += o.count;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
  }

  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let b = 0; b < this.counts.length; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(upperOf(b), this.max);
    }
    return this.max;
  }

  summary(): HistogramSummary {
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      count: this.count,
      mean: r(this.count ? this.sum / this.count : 0),
      p50: r(this.percentile(50)),
      p90: r(this.percentile(90)),
      p99: r(this.percentile(99)),
      p999: r(this.percentile(99.9)),
      max: r(this.max),
    };
  }

  /** Sparse form for IPC: only non-empty buckets. */
  toData(): HistogramData {
    const buckets: [number, number][] = [];
    this.counts.forEach((c, b) => {
      if (c > 0) buckets.push([b, c]);
    });
    return { buckets, count: this.count, sum: this.sum, max: this.max };
  }
}

export interface HistogramData {
  buckets: [number, number][];
  count: number;
  sum: number;
  max: number;
}
