import { jetstreamManager } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logging/logger.js';
import { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { SessionRegistry } from '../../../shared/nats/session-registry.js';
import { provisionedNatsPerFile } from '../../../test/harness/provisioned-nats.js';
import { ackPublisherFor } from '../../worker/publish/ack-publisher.js';
import { FencedError, SessionWriter } from '../../worker/publish/session-writer.js';
import { QueueTimeouts } from './queue-timeout.js';

const server = provisionedNatsPerFile();
const log = createLogger({ name: 'test', level: 'silent' });

/** A session whose log holds only the user's message, as a gateway's start leaves it. */
async function queuedSession(sid: string) {
  const eventLog = await JetStreamEventLog.create(server.nc);
  const userStreamSeq = await eventLog.append(
    'public',
    { sid, seq: 1, ts: Date.now(), type: 'user_message', text: 'hi', user: 'u' },
    0,
    'gateway-test',
  );
  const timeouts = new QueueTimeouts({
    eventLog,
    registry: await SessionRegistry.open(server.nc),
    jsm: await jetstreamManager(server.nc),
    timeoutMs: 1_000,
    writerId: 'gateway-test',
    log,
  });
  const turn = { tenant: 'public', sid, agent: 'slow', userSeq: 1, userStreamSeq };
  // A worker that read the log when the turn was queued: it starts right after the user message.
  const worker = new SessionWriter(
    ackPublisherFor(server.nc),
    eventLog,
    'public',
    sid,
    'w-late/1',
    1,
    1,
    userStreamSeq,
    200,
  );
  const types = async () => (await eventLog.readAll('public', sid)).events.map((e) => e.type);
  return { timeouts, turn, worker, types };
}

describe('queue timeout - fencing against a late worker', () => {
  it('when the timeout wins, the worker that read the log before it is fenced: the log keeps one outcome', async () => {
    const s = await queuedSession('s_qt_timeout_wins');
    expect(await s.timeouts.expire(s.turn)).toBe('expired');
    await expect(s.worker.append({ type: 'token', text: 'late', index: 0 })).rejects.toBeInstanceOf(
      FencedError,
    );
    expect(await s.types()).toEqual(['user_message', 'error']);
  });

  it('a turn cancelled while it waited ends as cancelled, not as a queue timeout', async () => {
    const s = await queuedSession('s_qt_cancelled');
    const registry = await SessionRegistry.open(server.nc);
    const now = Date.now();
    await registry.create({
      sid: 's_qt_cancelled',
      tenant: 'public',
      user: 'u',
      agent: 'slow',
      state: 'queued',
      createdAt: now,
      updatedAt: now,
      turns: 1,
      cancelRequested: true,
    });
    expect(await s.timeouts.expire(s.turn)).toBe('expired');
    expect(await s.types()).toEqual(['user_message', 'cancelled']);
    expect(await registry.get('s_qt_cancelled')).toMatchObject({ state: 'idle', lastOutcome: 'cancelled' });
  });

  it('when a worker wrote first, the timeout writes nothing', async () => {
    const s = await queuedSession('s_qt_worker_wins');
    await s.worker.append({ type: 'token', text: 'first', index: 0 });
    expect(await s.timeouts.expire(s.turn)).toBe('taken');
    await s.worker.append({ type: 'done', finishReason: 'stop', tokens: 1, durationMs: 5 });
    expect(await s.types()).toEqual(['user_message', 'token', 'done']);
  });
});
