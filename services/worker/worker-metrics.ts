import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { FastCounter } from '../../shared/metrics/fast-metrics.js';

/**
 * The worker's metrics (streamfabric_worker_<thing>_<unit|total>; bounded labels). Workers
 * serve them on PROMETHEUS_METRICS_PORT only (they have no other HTTP listener).
 */
export function createWorkerMetrics(registry: Registry) {
  /** Per agent pool: reads the shared JOBS consumer's undelivered count (set by main.ts). */
  const pendingSources = new Map<string, () => Promise<number>>();
  /** Incremented per model token: a plain addition, folded in at scrape time. */
  const tokens = new FastCounter();
  return {
    pendingSources,
    jobsPending: new Gauge({
      name: 'streamfabric_worker_jobs_pending',
      help: 'Jobs waiting in the JOBS stream for the agent pool (consumer num_pending; what KEDA scales on)',
      labelNames: ['agent'] as const,
      registers: [registry],
      async collect() {
        for (const [agent, read] of pendingSources) {
          // A broker outage must not break the scrape: the other metrics still matter then.
          const n = await read().catch(() => undefined);
          if (n !== undefined) this.set({ agent }, n);
        }
      },
    }),
    jobWait: new Histogram({
      name: 'streamfabric_worker_job_wait_seconds',
      help: 'Queue wait of a job: created by the gateway to picked up by a worker (first delivery)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    jobsInFlight: new Gauge({
      name: 'streamfabric_worker_jobs_in_flight',
      help: 'Jobs this worker is running now',
      registers: [registry],
    }),
    jobsTotal: new Counter({
      name: 'streamfabric_worker_jobs_total',
      help: 'Turns that ended, by agent and outcome (done, error, cancelled, handed_back)',
      labelNames: ['agent', 'outcome'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'streamfabric_worker_job_duration_seconds',
      help: 'Wall time of a turn from pickup to terminal event',
      labelNames: ['agent'] as const,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    modelLatency: new Histogram({
      name: 'streamfabric_worker_model_first_token_seconds',
      help: 'Model latency: agent run started to its first token (time to first model token)',
      labelNames: ['agent'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    tokens,
    tokensTotal: new Counter({
      name: 'streamfabric_worker_model_tokens_total',
      help: 'Model tokens produced (rate() of it is tokens per second)',
      registers: [registry],
      collect() {
        tokens.flushInto(this);
      },
    }),
    events: new Counter({
      name: 'streamfabric_worker_events_published_total',
      help: 'Session events written to the log',
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'streamfabric_worker_upstream_errors_total',
      help: 'Turns that failed in the agent or model provider, by error code',
      labelNames: ['agent', 'code'] as const,
      registers: [registry],
    }),
    natsStatus: new Counter({
      name: 'streamfabric_worker_nats_status_events_total',
      help: 'NATS connection status changes by type (disconnect, reconnect, ...)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
