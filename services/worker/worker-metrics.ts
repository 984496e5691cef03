import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The worker's metrics (Prometheus naming: streamfabric_worker_<thing>_<unit|total>). */
export function createWorkerMetrics(registry: Registry) {
  return {
    jobsInFlight: new Gauge({
      name: 'streamfabric_worker_jobs_in_flight',
      help: 'Jobs this worker is running now',
      registers: [registry],
    }),
    jobsTotal: new Counter({
      name: 'streamfabric_worker_jobs_total',
      help: 'Jobs started, by outcome',
      labelNames: ['agent', 'outcome'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'streamfabric_worker_job_duration_seconds',
      help: 'Wall time of a turn from pickup to terminal event',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'streamfabric_worker_model_tokens_total',
      help: 'Model tokens produced',
      registers: [registry],
    }),
    events: new Counter({
      name: 'streamfabric_worker_events_published_total',
      help: 'Session events written to the log',
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
