import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { JetStreamEventLog } from '../../shared/nats/event-log.js';
import { pendingUserMessageHeaders } from '../../shared/nats/job-headers.js';
import {
  EVENTS_STREAM,
  JOBS_STREAM,
  jobMsgId,
  subjects,
  WRITER_HEADER,
  workerConsumerName,
} from '../../shared/nats/subjects.js';
import type { Job, SessionEvent } from '../../shared/protocol/index.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient } from '../harness/raw-client.js';

// Real nats-server, gateway and worker processes. The gateway sends a new session's user message
// and its job at once (docs/benchmarks.md, start path): a worker that gets the job first must wait
// for the gateway's message, never write its own in front of it, and never lose the question.
let fabric: TestFabric;
let nc: NatsConnection;
let log: JetStreamEventLog;

beforeAll(async () => {
  fabric = await startFabric({ gateways: 1, workers: 1 });
  nc = await connect({ servers: fabric.nats.urls.split(',') });
  log = await JetStreamEventLog.create(nc);
});
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

let n = 0;
function jobFor(sid: string, input: string): Job {
  return {
    v: 1,
    sid,
    tenant: 'public',
    user: 'anonymous',
    agent: 'builtin',
    input,
    options: { length: 6, tokensPerSecond: 0 },
    turn: 1,
    createdAt: Date.now(),
  };
}

async function queuePending(job: Job): Promise<void> {
  await jetstream(nc).publish(subjects.job(job.agent), JSON.stringify(job), {
    msgID: jobMsgId(job.sid, 1),
    headers: pendingUserMessageHeaders(),
  });
}

async function finished(sid: string): Promise<SessionEvent[]> {
  return waitFor(
    async () => {
      const { events } = await log.readAll('public', sid);
      return events.at(-1)?.type === 'done' ? events : null;
    },
    { timeoutMs: 20_000, what: `session ${sid} done` },
  );
}

describe('start path: user message and job in parallel', () => {
  it('a worker holding the job before the user message waits for the gateway’s message and answers after it', async () => {
    const sid = `s_startpath${++n}aaaaaaaa`;
    await queuePending(jobFor(sid, 'which comes first?'));
    // The worker has the job (delivered, not acked) while the log is still empty.
    const jsm = await jetstreamManager(nc);
    await waitFor(
      async () =>
        (await jsm.consumers.info(JOBS_STREAM, workerConsumerName('builtin'))).num_ack_pending === 1,
      { timeoutMs: 10_000, what: 'the worker to hold the job' },
    );
    expect(await log.last('public', sid)).toBeNull();
    const ev: SessionEvent = {
      sid,
      seq: 1,
      ts: Date.now(),
      type: 'user_message',
      text: 'which comes first?',
      user: 'anonymous',
    };
    await log.append('public', ev, 0, 'gateway'); // fenced at 0: it fails if the worker wrote first
    const events = await finished(sid);
    assertContiguous(events);
    expect(events.filter((e) => e.type === 'user_message')).toHaveLength(1);
    const first = await jsm.streams.getMessage(EVENTS_STREAM, { seq: (await firstStreamSeq(sid)) ?? 0 });
    expect(first?.header?.get(WRITER_HEADER)).toBe('gateway');
  });

  it('a user message that never comes is written from the job after the wait: the question is not lost', async () => {
    const sid = `s_startpath${++n}bbbbbbbb`;
    await queuePending(jobFor(sid, 'anyone?'));
    const events = await finished(sid);
    assertContiguous(events);
    expect(events[0]).toMatchObject({ seq: 1, type: 'user_message', text: 'anyone?' });
  });

  it('a start over the WebSocket: one user message at seq 1, then the answer, contiguous to done', async () => {
    const client = await RawClient.connect(fabric.wsUrl(0));
    try {
      const sid = `s_startpath${++n}cccccccc`;
      client.send({ type: 'start', id: 'a', sid, agent: 'builtin', input: 'hi', options: { length: 6 } });
      expect((await client.reply((r) => r.id === 'a')).ok).toBe(true);
      await waitFor(() => client.events(sid).some((e) => e.type === 'done'), {
        timeoutMs: 20_000,
        what: 'done',
      });
      const got = client.events(sid);
      assertContiguous(got);
      expect(got[0]).toMatchObject({ seq: 1, type: 'user_message', text: 'hi' });
      expect(got.filter((e) => e.type === 'user_message')).toHaveLength(1);
    } finally {
      client.close();
    }
  });
});

async function firstStreamSeq(sid: string): Promise<number | undefined> {
  for await (const e of log.readAfter('public', sid, 0)) return e.streamSeq;
  return undefined;
}
