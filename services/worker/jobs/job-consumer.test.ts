import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../../scripts/topology/nats-process.js';
import { waitFor } from '../../../scripts/topology/wait.js';
import { createLogger } from '../../../shared/logging/logger.js';
import { provisionFabric, provisionWorkerConsumer } from '../../../shared/nats/provision.js';
import { allPartitions, setPartitionLayout, subjects } from '../../../shared/nats/subjects.js';
import { JobConsumer } from './job-consumer.js';

let nats: NatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  setPartitionLayout(3);
  nats = await startNats({ nodes: 1 });
  nc = await connect({ servers: nats.urls.split(',') });
  await provisionFabric(nc, {
    NATS_REPLICAS: 1,
    NATS_STORAGE: 'memory',
    EVENTS_MAX_AGE_SECONDS: 3600,
    EVENTS_MAX_BYTES: 0,
    NATS_DUPLICATE_WINDOW_MS: 120_000,
    NATS_PARTITIONS: 3,
  });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  setPartitionLayout(1);
});

describe('job consumer - partitions share one slot pool', () => {
  it('never runs more than its slots, and a quiet partition is served while a busy one has a backlog', async () => {
    const name = await provisionWorkerConsumer(nc, {
      agent: 'fair',
      ackWaitMs: 30_000,
      maxDeliver: 3,
      maxAckPending: 1000,
      replicas: 1,
    });
    const js = jetstream(nc);
    const consumers = await Promise.all(allPartitions().map((p) => js.consumers.get(p.jobsStream, name)));
    const part = allPartitions();
    // A backlog of 8 jobs in partition 0, then one job in partition 2.
    for (let i = 0; i < 8; i++) await js.publish(part[0]!.jobSubject('fair'), `p0-${i}`);
    await js.publish(part[2]!.jobSubject('fair'), 'p2-0');
    expect(subjects.job('fair', 'x')).toMatch(/^fabric\.jobs\.fair\.[012]$/);

    const handled: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const release: (() => void)[] = [];
    const jc = new JobConsumer(
      consumers,
      2,
      async (msg) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        handled.push(msg.string());
        await new Promise<void>((r) => release.push(r));
        msg.ack();
        running--;
      },
      createLogger({ name: 'test', level: 'silent' }),
    );
    void jc.run();
    // Finish jobs one at a time: each freed slot goes to the loop that waited longest.
    while (handled.length < 9) {
      await waitFor(() => release.length > 0, { what: 'a running job', timeoutMs: 10_000 });
      release.shift()!();
    }
    for (const r of release.splice(0)) r();
    await jc.stop();
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(handled.indexOf('p2-0')).toBeLessThan(4);
    expect(new Set(handled).size).toBe(9);
  });
});
