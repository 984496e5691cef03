import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ServiceProcess } from '../../scripts/topology/service-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { builtinText } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';
import { assertContiguous, RawClient, tokenText } from '../harness/raw-client.js';
import { currentWriter, readLog, startSession } from './helpers.js';

// A short ack deadline so a lost worker's job is redelivered within seconds.
const ACK_WAIT_MS = 2_000;
let fabric: TestFabric;

beforeAll(async () => {
  fabric = await startFabric({
    gateways: 1,
    workers: 2,
    // R3: a clustered stream checks duplicates before the expected sequence, the harder case for fencing.
    natsNodes: 3,
    workerEnv: { WORKER_ACK_WAIT_MS: String(ACK_WAIT_MS) },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

function workerById(id: string): ServiceProcess {
  const w = fabric.workers.find((p) => p.logs.some((l) => l.worker === id));
  if (!w) throw new Error(`no worker process with id ${id}`);
  return w;
}

describe('worker failure - SIGKILL mid-stream', () => {
  it('redelivers the job after the ack deadline; the new worker emits restart and continues the exact text', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await startSession(c, 'k1', {
      seed: 21,
      length: 240,
      tokensPerSecond: 40,
      flushIntervalMs: 0,
    });
    await waitFor(() => c.events(sid).length >= 20, { timeoutMs: 20_000, what: '20 events' });
    const victim = workerById(await currentWriter(fabric.nats.urls, sid));
    await victim.kill('SIGKILL');
    fabric.workers.splice(fabric.workers.indexOf(victim), 1);
    // The next test needs two workers again, whatever happens here.
    onTestFinished(async () => {
      await fabric.addWorker({ WORKER_ACK_WAIT_MS: String(ACK_WAIT_MS) });
    });
    const events = await c.finished(sid, 60_000);
    assertContiguous(events);
    const restarts = events.filter((e) => e.type === 'restart');
    expect(restarts).toHaveLength(1);
    expect(restarts[0]).toMatchObject({ type: 'restart', attempt: 2, mode: 'continue' });
    expect(events.at(-1)!.type).toBe('done');
    expect(tokenText(events)).toBe(builtinText(21, 240));
    // Token indexes continue across the restart: strictly increasing (nothing repeated) up to the
    // last model token. An event's index may advance by more than one: a pacer that fell behind
    // (a loaded machine) puts the tokens it owes in one event; the exact text above proves none
    // was skipped.
    const indexes = events.flatMap((e) => (e.type === 'token' && e.index !== undefined ? [e.index] : []));
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]!).toBeGreaterThan(indexes[i - 1]!);
    expect(indexes.at(-1)).toBe(239);
    c.close();
  });
});

describe('worker failure - zombie writer', () => {
  it('a stopped worker that wakes up after redelivery is fenced: its writes are refused and the stream stays exact', async () => {
    const c = await RawClient.connect(fabric.wsUrl(0));
    const sid = await startSession(c, 'z1', {
      seed: 33,
      length: 300,
      tokensPerSecond: 40,
      flushIntervalMs: 0,
    });
    await waitFor(() => c.events(sid).length >= 15, { timeoutMs: 20_000, what: '15 events' });
    const zombie = workerById(await currentWriter(fabric.nats.urls, sid));
    const zombiePid = zombie.process.pid!;
    process.kill(zombiePid, 'SIGSTOP');
    try {
      // Another worker takes the job over once the ack deadline passes...
      await waitFor(() => c.events(sid).some((e) => e.type === 'restart'), {
        timeoutMs: 30_000,
        what: 'restart by another worker',
      });
      const restartSeq = c.events(sid).find((e) => e.type === 'restart')!.seq;
      // ...and writes ahead of where the zombie stopped before the zombie wakes up.
      await waitFor(() => c.events(sid).length >= restartSeq + 15, {
        timeoutMs: 20_000,
        what: 'new writer ahead',
      });
    } finally {
      process.kill(zombiePid, 'SIGCONT');
    }
    const events = await c.finished(sid, 60_000);
    await waitFor(
      () =>
        zombie.logs.some(
          (l) =>
            String(l.msg).startsWith('turn stopped without finishing') &&
            l.reason === 'fenced' &&
            l.delivery === 1,
        ),
      { timeoutMs: 20_000, what: 'the zombie to report its turn was fenced' },
    );
    assertContiguous(events);
    expect(events.at(-1)!.type).toBe('done');
    expect(tokenText(events)).toBe(builtinText(33, 300));
    const restarts = events.filter((e) => e.type === 'restart');
    // Usually one; two when a redelivery also landed in the stopped worker's socket and ran on wake-up.
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    expect(restarts.every((e) => e.type === 'restart' && e.mode === 'continue')).toBe(true);
    // The log itself: one writer from each restart to the next (never two interleaved), the zombie's
    // first attempt never wrote after the first restart, and nothing follows `done`.
    // The user's message (seq 1) is the gateway's write; the workers' writes follow it.
    const log = (await readLog(fabric.nats.urls, sid)).filter((e) => e.event.type !== 'user_message');
    const firstWriter = log[0]!.writer;
    let writer = firstWriter;
    for (const e of log) {
      if (e.event.type === 'restart') writer = e.writer;
      expect(e.writer).toBe(writer);
    }
    const firstRestart = log.findIndex((e) => e.event.type === 'restart');
    expect(log.slice(firstRestart).some((e) => e.writer === firstWriter)).toBe(false);
    expect(log.at(-1)!.event.type).toBe('done');
    expect(log.map((e) => e.event.seq)).toEqual(log.map((_, i) => i + 2));
    c.close();
  });
});
