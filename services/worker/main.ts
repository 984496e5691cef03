import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { loadConfig } from '../../shared/config/load-config.js';
import { WorkerConfig } from '../../shared/config/worker-config.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createRegistry, serveMetrics } from '../../shared/metrics/registry.js';
import { AgentPoolStore, declareAgents } from '../../shared/nats/agent-pools.js';
import { connectNats } from '../../shared/nats/connect.js';
import { SnapshotStore } from '../../shared/nats/conversation-snapshots.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { NatsLinkState } from '../../shared/nats/link-state.js';
import { provisionFabric, provisionWorkerConsumer } from '../../shared/nats/provision.js';
import { SessionRegistry } from '../../shared/nats/session-registry.js';
import { retryStartupStep } from '../../shared/nats/startup-retry.js';
import { allPartitions } from '../../shared/nats/subjects.js';
import { createAgents } from './agents/create-agents.js';
import { JobConsumer } from './jobs/job-consumer.js';
import { runTurn } from './jobs/run-turn.js';
import { ackPublisherFor } from './publish/ack-publisher.js';
import { createWorkerMetrics } from './worker-metrics.js';

/** Composition root of an agent worker: config, NATS, agents, one job consumer per agent pool. */
async function main(): Promise<void> {
  const config = loadConfig(WorkerConfig);
  const workerId = config.WORKER_ID ?? `w-${randomBytes(3).toString('hex')}`;
  const log = createLogger({
    name: 'worker',
    level: config.STREAM_LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    base: { worker: workerId },
  });
  const registry = createRegistry('worker', workerId);
  const metrics = createWorkerMetrics(registry);
  const link = new NatsLinkState((type) => metrics.natsStatus.inc({ type }));
  // The worker's only HTTP listener: /metrics for Prometheus, /healthz and /readyz for probes.
  if (config.PROMETHEUS_METRICS_PORT > 0) {
    const ready = () => link.connected;
    const { port } = await serveMetrics(registry, config.PROMETHEUS_METRICS_PORT, '0.0.0.0', ready);
    log.info({ port }, 'metrics listening');
  }

  const nc = await connectNats(config, {
    name: `streamfabric-worker-${workerId}`,
    log,
    onStatus: link.onStatus,
  });
  const retry = { log };
  await retryStartupStep('provision streams', () => provisionFabric(nc, config), retry);
  const js = jetstream(nc);
  const publisher = ackPublisherFor(nc);
  const eventLog = await retryStartupStep('open event log', () => JetStreamEventLog.create(nc), retry);
  const sessions = await retryStartupStep('open session registry', () => SessionRegistry.open(nc), retry);
  const snapshots =
    config.CONVERSATION_SNAPSHOTS === 'on'
      ? await retryStartupStep('open snapshot store', () => SnapshotStore.open(nc), retry)
      : undefined;
  const agents = createAgents(config, log);
  const shutdown = new AbortController();

  const consumers: JobConsumer[] = [];
  for (const agent of config.WORKER_AGENTS) {
    if (!agents.has(agent))
      throw new Error(
        `WORKER_AGENTS names an unknown agent "${agent}" (known: ${[...agents.keys()].join(', ')})`,
      );
    // One durable consumer per JOBS partition (docs/partitions.md), all pulled with one slot pool.
    const partitionConsumers = await retryStartupStep(
      `bind the ${agent} job consumer`,
      async () => {
        const name = await provisionWorkerConsumer(nc, {
          agent,
          ackWaitMs: config.WORKER_ACK_WAIT_MS,
          maxDeliver: config.WORKER_MAX_DELIVER,
          maxAckPending: 100_000,
          replicas: config.NATS_REPLICAS,
        });
        return Promise.all(allPartitions().map((p) => js.consumers.get(p.jobsStream, name)));
      },
      retry,
    );
    metrics.pendingSources.set(agent, async () => {
      const infos = await Promise.all(partitionConsumers.map((c) => c.info()));
      return infos.reduce((sum, i) => sum + i.num_pending, 0);
    });
    const deps = {
      nc,
      js,
      publisher,
      eventLog,
      ...(snapshots ? { snapshots } : {}),
      registry: sessions,
      agents,
      log,
      metrics,
      workerId,
      ackWaitMs: config.WORKER_ACK_WAIT_MS,
      maxDeliver: config.WORKER_MAX_DELIVER,
      timeoutMs: config.STREAM_TIMEOUT,
      maxHistoryTokens: config.MAX_HISTORY_TOKENS,
      inputTimeoutMs: config.INPUT_TIMEOUT_MS,
      coalesce: {
        bufferSize: config.STREAM_BUFFER_SIZE,
        flushIntervalMs: config.STREAM_FLUSH_INTERVAL,
        maxTokensPerSecond: config.STREAM_MAX_TOKENS_PER_SECOND,
        maxHoldMs: config.STREAM_FLUSH_MAX_HOLD,
      },
      shutdown: shutdown.signal,
    };
    const jc = new JobConsumer(
      partitionConsumers,
      config.WORKER_CONCURRENCY,
      async (msg) => {
        metrics.jobsInFlight.inc();
        try {
          await runTurn(msg, deps);
        } finally {
          metrics.jobsInFlight.dec();
        }
      },
      log.child({ pool: agent }),
    );
    consumers.push(jc);
    void jc.run();
  }
  // Declared before "worker ready": a gateway must know the agents once the worker says it serves them.
  const declarations = await retryStartupStep(
    'declare agent pools',
    async () =>
      declareAgents(await AgentPoolStore.open(nc), {
        workerId,
        agents: config.WORKER_AGENTS.map((agent) => ({
          agent,
          kind: agent === 'openai' ? 'openai' : 'builtin',
        })),
        heartbeatMs: config.AGENT_HEARTBEAT_MS,
        onError: (err) => log.warn({ err: String(err) }, 'agent heartbeat failed'),
      }),
    retry,
  );
  link.markUp();
  log.info({ agents: config.WORKER_AGENTS, concurrency: config.WORKER_CONCURRENCY }, 'worker ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker stopping: running turns are handed back for redelivery');
    // A supervisor waits ~10 s before SIGKILL, which loses `--cpu-prof` profiles and the log's
    // last lines: a stop that hangs (a drain behind a saturated connection) ends here instead.
    // Turns not handed back by then are redelivered after their ack wait, as after a crash.
    setTimeout(() => {
      log.warn('worker stop took longer than 7 s: exiting anyway');
      process.exit(0);
    }, 7_000).unref();
    shutdown.abort();
    await declarations.stop(); // gateways stop counting this worker at once, not after 3 heartbeats
    await Promise.allSettled(consumers.map((c) => c.stop()));
    await nc.drain().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started by a supervisor with an IPC channel (npm start, tests): exit when it goes away.
  if (process.connected) process.on('disconnect', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
