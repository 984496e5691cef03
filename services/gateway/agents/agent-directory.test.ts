import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../scripts/topology/wait.js';
import { createLogger } from '../../../shared/logging/logger.js';
import { AgentPoolStore } from '../../../shared/nats/agent-pools.js';
import { provisionWorkerConsumer } from '../../../shared/nats/provision.js';
import { JOBS_STREAM, workerConsumerName } from '../../../shared/nats/subjects.js';
import { provisionedNatsPerFile } from '../../../test/harness/provisioned-nats.js';
import { AgentDirectory } from './agent-directory.js';

const server = provisionedNatsPerFile();
const log = createLogger({ name: 'test', level: 'silent' });
const HEARTBEAT_MS = 1_000;

async function open(now?: () => number) {
  const store = await AgentPoolStore.open(server.nc);
  const dir = await AgentDirectory.open(store, {
    heartbeatMs: HEARTBEAT_MS,
    log,
    // The gateway's own check (create-agent-gate.ts): does the pool's durable job consumer exist?
    hasJobConsumer: (agent) =>
      jetstreamManager(server.nc).then((jsm) =>
        jsm.consumers.info(JOBS_STREAM, workerConsumerName(agent)).then(
          () => true,
          () => false,
        ),
      ),
    ...(now ? { now } : {}),
  });
  return { store, dir };
}

const live = (agent: string, workerId: string, heartbeatAt: number) => ({
  v: 1 as const,
  agent,
  workerId,
  kind: 'builtin',
  startedAt: heartbeatAt,
  heartbeatAt,
});

describe('agent directory - a cached watch of FABRIC_AGENTS', () => {
  it('loads what the bucket holds at open, then follows puts and deletes', async () => {
    const { store } = await open();
    await store.declarePool('alpha', 'builtin');
    await store.putLive(live('alpha', 'w1', Date.now()));
    const { dir } = await open();
    expect(dir.get('alpha')).toMatchObject({ known: true, declared: true, kind: 'builtin', liveWorkers: 1 });
    await store.putLive(live('alpha', 'w2', Date.now()));
    await waitFor(() => dir.liveWorkers('alpha') === 2, { what: 'second worker' });
    await store.deleteLive('alpha', 'w1');
    await waitFor(() => dir.liveWorkers('alpha') === 1, { what: 'deleted worker counted out' });
    expect(dir.list().find((a) => a.agent === 'alpha')).toMatchObject({ kind: 'builtin', liveWorkers: 1 });
    dir.close();
  });

  it('counts a worker live for 3 heartbeats after its last one', async () => {
    let now = Date.now();
    const { store, dir } = await open(() => now);
    await store.declarePool('beta', 'openai');
    await store.putLive(live('beta', 'w1', now));
    await waitFor(() => dir.liveWorkers('beta') === 1, { what: 'worker seen' });
    now += 3 * HEARTBEAT_MS;
    expect(dir.liveWorkers('beta')).toBe(1);
    now += 1;
    expect(dir.liveWorkers('beta')).toBe(0);
    expect(dir.get('beta')).toMatchObject({ known: true, liveWorkers: 0 }); // known, just not live
    dir.close();
  });

  it('resolve() reads the bucket on a cache miss before saying unknown; pools with only a job consumer are known', async () => {
    const { store, dir } = await open();
    dir.close(); // no watch: only the miss path can find what is declared now
    // A pool that never declared itself (an older bridge) but has its durable job consumer.
    await provisionWorkerConsumer(server.nc, {
      agent: 'legacy-pool',
      ackWaitMs: 10_000,
      maxDeliver: 3,
      maxAckPending: 10,
      replicas: 1,
    });
    await store.declarePool('gamma', 'agentchat');
    expect(dir.get('gamma')).toEqual({ known: false });
    expect(await dir.resolve('gamma')).toMatchObject({ known: true, declared: true, kind: 'agentchat' });
    expect(await dir.resolve('legacy-pool')).toEqual({ known: true, declared: false });
    expect(await dir.resolve('no-such-agent')).toEqual({ known: false });
  });

  it('ignores entries that fit no schema (a foreign writer cannot poison the directory)', async () => {
    const { store, dir } = await open();
    await store.kv.put('pool.delta', '{"not":"a declaration"}');
    await store.kv.put('live.delta.w1', 'not json');
    await store.declarePool('epsilon', 'builtin');
    await waitFor(() => dir.get('epsilon').known, { what: 'a later valid entry' });
    expect(dir.get('delta')).toEqual({ known: false });
    dir.close();
  });
});
