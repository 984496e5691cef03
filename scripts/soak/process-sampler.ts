import { readdirSync } from 'node:fs';
import { readRssBytes } from '../fuzz/process-memory.js';

/** One sample series of a process: RSS and open file descriptors over time. */
export interface ProcessSeries {
  name: string;
  pid: number;
  samples: { t: number; rssKb: number; fds: number }[];
}

/** Slope of a least-squares line through (x, y), per unit of x; 0 with fewer than 2 points. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Samples RSS (/proc/<pid>/status) and fd count (/proc/<pid>/fd) of named processes. */
export class ProcessSampler {
  readonly series: ProcessSeries[];
  private readonly t0 = Date.now();

  constructor(procs: { name: string; pid: number }[]) {
    this.series = procs.map((p) => ({ ...p, samples: [] }));
  }

  sample(): void {
    const t = (Date.now() - this.t0) / 60_000;
    for (const s of this.series) {
      try {
        s.samples.push({
          t,
          rssKb: Math.round(readRssBytes(s.pid) / 1024),
          fds: readdirSync(`/proc/${s.pid}/fd`).length,
        });
      } catch {
        // The process is gone: its series ends here (the report says how many samples it has).
      }
    }
  }

  /**
   * Per process: RSS and fd slopes per minute over the samples after `warmupFraction` of the run
   * (start-up allocations and JIT warm-up are not a leak), plus first/last values.
   */
  report(warmupFraction = 0.25) {
    return this.series.map((s) => {
      const steady = s.samples.slice(Math.floor(s.samples.length * warmupFraction));
      return {
        name: s.name,
        pid: s.pid,
        samples: s.samples.length,
        rssKbStart: steady[0]?.rssKb ?? 0,
        rssKbEnd: steady.at(-1)?.rssKb ?? 0,
        rssKbPerMin: Math.round(slope(steady.map((p) => ({ x: p.t, y: p.rssKb })))),
        fdsStart: steady[0]?.fds ?? 0,
        fdsEnd: steady.at(-1)?.fds ?? 0,
        fdsPerMin: Number(slope(steady.map((p) => ({ x: p.t, y: p.fds }))).toFixed(2)),
      };
    });
  }
}
