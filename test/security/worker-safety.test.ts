import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { subjects } from '../../shared/nats/subjects.js';
import { deadLetters as deadLettersIn } from '../harness/dead-letters.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';

const POISON = 'poison-pill: this input kills its worker';
let fabric: TestFabric;
let nc: NatsConnection;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    workerEnv: { WORKER_MAX_DELIVER: '2', WORKER_ACK_WAIT_MS: '1500', BUILTIN_FAULT_CRASH_INPUT: POISON },
  });
  nc = await connect({ servers: fabric.nats.urls });
});
afterAll(async () => {
  await nc?.close();
  await fabric?.stop();
});

const deadLetters = () => deadLettersIn(nc);

async function healthySession(seed: number): Promise<void> {
  const c = await RawClient.connect(fabric.wsUrl(0));
  c.send({ type: 'start', id: 1, input: 'healthy', options: { seed, length: 40, tokensPerSecond: 0 } });
  const sid = (await c.reply((r) => r.id === 1)).sid!;
  const events = await c.finished(sid);
  assertContiguous(events);
  expect(tokenText(events)).toBe(builtinText(seed, 40));
  c.close();
}

describe('worker - hostile job payloads', () => {
  it('dead-letters garbage published straight to the JOBS stream and keeps serving', async () => {
    const garbage = [
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      '{"v":1,"sid":"s_truncated',
      JSON.stringify({ v: 1, sid: 'not valid!', tenant: 'a', user: 'u', agent: 'builtin', input: '' }),
      // A tenant with subject wildcards would let a job write into other tenants' subjects.
      JSON.stringify({
        v: 1,
        sid: 's_wildcard01',
        tenant: 'acme.>',
        user: 'u',
        agent: 'builtin',
        input: 'x',
        createdAt: 1,
      }),
      '{"__proto__":{"polluted":true},"v":1}',
      '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    ];
    const before = (await deadLetters()).length;
    for (const g of garbage) nc.publish(subjects.job('builtin'), g);
    const dead = await waitFor(
      async () => {
        const all = await deadLetters();
        return all.length - before >= garbage.length ? all.slice(before) : null;
      },
      { timeoutMs: 20_000, what: 'garbage jobs dead-lettered' },
    );
    expect(dead.map((m) => m.header?.get('Sf-Dead-Reason'))).toEqual(
      garbage.map(() => 'invalid job payload'),
    );
    expect(dead.map((m) => Buffer.from(m.data).toString('latin1')).sort()).toEqual(
      garbage.map((g) => Buffer.from(g).toString('latin1')).sort(),
    );
    expect(fabric.workers[0]!.process.exitCode).toBeNull();
    await healthySession(101);
  });

  it('ends a job that kills its worker on every delivery with a poison_job error and a dead-letter record', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    c.send({ type: 'start', id: 'p', input: POISON });
    const sid = (await c.reply((r) => r.id === 'p')).sid!;
    // Keep one worker alive: each delivery of the poison job kills the worker that took it.
    const events = await waitFor(
      async () => {
        if (fabric.workers.every((w) => w.process.exitCode !== null || w.process.signalCode !== null))
          await fabric.addWorker();
        return c.events(sid).some((e) => e.type === 'error') ? c.events(sid) : null;
      },
      { timeoutMs: 100_000, intervalMs: 200, what: 'the poison job to end' },
    );
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'poison_job', retryable: false } });
    const crashed = fabric.workers.filter((w) => w.process.signalCode === 'SIGKILL').length;
    expect(crashed).toBe(2); // WORKER_MAX_DELIVER deliveries, then no more
    // Written before the error event, but read here through another connection: allow it to land.
    const record = await waitFor(
      async () =>
        (await deadLetters()).find((m) => Buffer.from(m.data).toString().includes(`"sid":"${sid}"`)),
      { timeoutMs: 10_000, what: 'the dead-letter record' },
    );
    expect(record.header?.get('Sf-Dead-Reason')).toBe('max deliveries exceeded');
    if (fabric.workers.every((w) => w.process.exitCode !== null || w.process.signalCode !== null))
      await fabric.addWorker();
    await healthySession(102);
    c.close();
  }, 150_000);
});
