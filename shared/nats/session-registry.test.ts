import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionedNatsPerFile } from '../../test/harness/provisioned-nats.js';
import type { SessionRecord } from '../protocol/session-record.js';
import { SessionRegistry } from './session-registry.js';

// Two processes' connections to one server: the worker's, whose messages are counted, and a gateway's.
const server = provisionedNatsPerFile();
let worker: NatsConnection;
let gateway: NatsConnection;
beforeAll(async () => {
  worker = await connect({ servers: server.urls.split(',') });
  gateway = await connect({ servers: server.urls.split(',') });
});
afterAll(async () => {
  await worker?.close();
  await gateway?.close();
});

const record = (sid: string): SessionRecord => ({
  sid,
  tenant: 't1',
  user: 'u1',
  agent: 'builtin',
  state: 'queued',
  createdAt: Date.now(),
  updatedAt: Date.now(),
  turns: 1,
  cancelRequested: false,
});

/** Messages the connection sent while `fn` ran: a KV read or a KV write is one each. */
async function sent(nc: NatsConnection, fn: () => Promise<unknown>): Promise<number> {
  const before = nc.stats().outMsgs;
  await fn();
  return nc.stats().outMsgs - before;
}

describe('session registry - updates from the last revision seen', () => {
  it('a turn reads once, then each state change is one write, not a read and a write', async () => {
    const w = await SessionRegistry.open(worker);
    const g = await SessionRegistry.open(gateway);
    await g.create(record('s_revisions1'));
    expect(await sent(worker, () => w.get('s_revisions1'))).toBe(1);
    expect(await sent(worker, () => w.setState('s_revisions1', 'running'))).toBe(1);
    expect(await sent(worker, () => w.setState('s_revisions1', 'idle', { lastOutcome: 'done' }))).toBe(1);
    expect(await g.get('s_revisions1')).toMatchObject({ state: 'idle', lastOutcome: 'done' });
  });

  it('a change made meanwhile by another process is kept: the stale revision is refused, then re-read', async () => {
    const w = await SessionRegistry.open(worker);
    const g = await SessionRegistry.open(gateway);
    await g.create(record('s_revisions2'));
    await w.get('s_revisions2');
    // The gateway's cancel lands between the worker's read and its state change.
    await g.update('s_revisions2', (r) => ({ ...r, cancelRequested: true }));
    // Refused write, read, write.
    expect(await sent(worker, () => w.setState('s_revisions2', 'running'))).toBe(3);
    expect(await g.get('s_revisions2')).toMatchObject({ state: 'running', cancelRequested: true });
    // And the worker's next change starts from what it wrote.
    expect(await sent(worker, () => w.setState('s_revisions2', 'idle', { cancelRequested: false }))).toBe(1);
    expect(await g.get('s_revisions2')).toMatchObject({ state: 'idle', cancelRequested: false });
  });

  it('a session deleted elsewhere is not brought back by a remembered revision', async () => {
    const w = await SessionRegistry.open(worker);
    const g = await SessionRegistry.open(gateway);
    await g.create(record('s_revisions3'));
    await w.get('s_revisions3');
    await g.delete('s_revisions3');
    expect(await w.setState('s_revisions3', 'running')).toBeNull();
    expect(await g.get('s_revisions3')).toBeNull();
  });
});
