import { execFileSync } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoText } from '../../scripts/topology/bridge-demo.js';
import { ensurePython } from '../../scripts/topology/bridge-process.js';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { loadConfig } from '../../shared/config/load-config.js';
import { WorkerConfig } from '../../shared/config/worker-config.js';
import { provisionFabric, provisionWorkerConsumer } from '../../shared/nats/provision.js';
import {
  AGENTS_BUCKET,
  agentKeys,
  DEADLETTER_STREAM,
  EVENTS_STREAM,
  eventMsgId,
  JOBS_STREAM,
  SEQ_HEADER,
  SESSIONS_BUCKET,
  subjects,
  TS_HEADER,
  WRITER_HEADER,
  workerConsumerName,
} from '../../shared/nats/subjects.js';

// The Python bridge mirrors a few TypeScript definitions (it cannot import them): these tests
// fail when the two sides drift apart.
let python: string;
let nats: NatsCluster;
let nc: NatsConnection;

function py(code: string, env: Record<string, string> = {}): unknown {
  const out = execFileSync(python, ['-c', code], {
    cwd: repoRoot(),
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

beforeAll(async () => {
  python = ensurePython();
  nats = await startNats();
  nc = await connect({ servers: nats.urls });
  await provisionFabric(nc, loadConfig(WorkerConfig, {}));
}, 600_000);
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('bridge contract - the Python bridge speaks the fabric names and defaults', () => {
  it('uses the same streams, subjects, consumer name, msg ids and headers as shared/nats/subjects.ts', () => {
    const got = py(`
import json
from streamfabric_autogen import subjects as s
print(json.dumps([s.EVENTS_STREAM, s.JOBS_STREAM, s.DEADLETTER_STREAM, s.SESSIONS_BUCKET,
  s.events_subject("t1", "sid1"), s.job_subject("team"), s.control_subject("sid1"),
  s.dead_letter_subject("team"), s.worker_consumer_name("team"), s.event_msg_id("sid1", 7, "w/1"),
  s.SEQ_HEADER, s.WRITER_HEADER, s.TS_HEADER, s.live_subject("t1", "sid1"),
  s.AGENTS_BUCKET, s.agent_pool_key("team"), s.agent_live_key("team", "w-1")]))`);
    expect(got).toEqual([
      EVENTS_STREAM,
      JOBS_STREAM,
      DEADLETTER_STREAM,
      SESSIONS_BUCKET,
      subjects.events('t1', 'sid1'),
      subjects.job('team'),
      subjects.control('sid1'),
      subjects.deadLetter('team'),
      workerConsumerName('team'),
      eventMsgId('sid1', 7, 'w/1'),
      SEQ_HEADER,
      WRITER_HEADER,
      TS_HEADER,
      subjects.live('t1', 'sid1'),
      AGENTS_BUCKET,
      agentKeys.pool('team'),
      agentKeys.live('team', 'w-1'),
    ]);
  });

  it('demo agents answer what scripts/topology/bridge-demo.ts says they do (chaos and conformance check it)', () => {
    const cases: [string, string, number, number][] = [
      ['assistant', 'stream sigkill', 160, 0],
      ['writer', 'plan a trip — déjà vu', 7, 1],
      ['critic', '', 1, 0],
    ];
    const got = py(`
import json
from streamfabric_autogen.demo import demo_text
print(json.dumps([demo_text(a, t, n, r) for a, t, n, r in ${JSON.stringify(cases)}]))`);
    expect(got).toEqual(cases.map(([a, t, n, r]) => demoText(a, t, n, r)));
  });

  it('reads the worker settings with the TypeScript worker defaults', () => {
    const ts = loadConfig(WorkerConfig, {});
    const got = py(`
import json
from streamfabric_autogen.config import load_config
c = load_config("team", env={})
print(json.dumps([c.nats_urls, c.replicas, c.concurrency, c.ack_wait_ms, c.max_deliver, c.timeout_ms,
  c.buffer_size, c.flush_interval_ms, c.log_level, c.max_history_tokens, c.input_timeout_ms, c.agent_heartbeat_ms]))`);
    expect(got).toEqual([
      ts.NATS_URL,
      ts.NATS_REPLICAS,
      ts.WORKER_CONCURRENCY,
      ts.WORKER_ACK_WAIT_MS,
      ts.WORKER_MAX_DELIVER,
      ts.STREAM_TIMEOUT,
      ts.STREAM_BUFFER_SIZE,
      ts.STREAM_FLUSH_INTERVAL,
      ts.STREAM_LOG_LEVEL,
      ts.MAX_HISTORY_TOKENS,
      ts.INPUT_TIMEOUT_MS,
      ts.AGENT_HEARTBEAT_MS,
    ]);
  });

  it('creates the worker pool consumer with exactly the config provisionWorkerConsumer gives it', async () => {
    const ts = loadConfig(WorkerConfig, {});
    const jsm = await jetstreamManager(nc);
    const agent = 'contract-pool';
    await provisionWorkerConsumer(nc, {
      agent,
      ackWaitMs: ts.WORKER_ACK_WAIT_MS,
      maxDeliver: ts.WORKER_MAX_DELIVER,
      maxAckPending: 100_000,
      replicas: ts.NATS_REPLICAS,
    });
    const before = (await jsm.consumers.info(JOBS_STREAM, workerConsumerName(agent))).config;
    // The bridge creates the same durable; a different config would be rejected or change it.
    py(
      `
import asyncio, json, os, nats
from streamfabric_autogen.config import load_config
from streamfabric_autogen.core.worker import consumer_config
async def main():
    nc = await nats.connect(os.environ["NATS_URL"])
    await nc.jetstream()._jsm.add_consumer("${JOBS_STREAM}", config=consumer_config(load_config("${agent}", env={})))
    await nc.close()
asyncio.run(main())
print("null")`,
      { NATS_URL: nats.urls },
    );
    const after = (await jsm.consumers.info(JOBS_STREAM, workerConsumerName(agent))).config;
    expect(after).toEqual(before);
  });
});
