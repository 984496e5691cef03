import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../../scripts/topology/nats-process.js';
import { provisionFabric } from '../../../shared/nats/provision.js';
import { EVENTS_STREAM, subjects } from '../../../shared/nats/subjects.js';
import { AckPublisher, ackSeq } from './ack-publisher.js';
import { WireHeaders } from './wire-headers.js';

let nats: NatsCluster;
let nc: NatsConnection;
let pub: AckPublisher;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.urls });
  await provisionFabric(nc, {
    NATS_REPLICAS: 1,
    NATS_STORAGE: 'file',
    EVENTS_MAX_AGE_SECONDS: 3600,
    EVENTS_MAX_BYTES: 0,
    NATS_DUPLICATE_WINDOW_MS: 120_000,
  });
  pub = new AckPublisher(nc);
});
afterAll(async () => {
  pub?.close();
  await nc?.close();
  await nats?.stop();
});

const data = (s: string) => new TextEncoder().encode(s);
const send = (sid: string, seq: number, last: number) =>
  pub.publish(subjects.events('t1', sid), data(`e${seq}`), {
    msgID: `${sid}:${seq}`,
    headers: new WireHeaders(),
    expect: { lastSubjectSequence: last },
    timeout: 5_000,
  });

describe('ack publisher - pipelined JetStream publishes keep dedupe and fencing', () => {
  it('stores events and resolves with their stream sequence, many in flight at once', async () => {
    const acks = await Promise.all(Array.from({ length: 50 }, (_, i) => send(`pipe_${i}_xx`, 1, 0)));
    const seqs = acks.map((a) => a.seq);
    expect(new Set(seqs).size).toBe(50);
    const next = await send('pipe_0_xx', 2, seqs[0]!);
    expect(next.seq).toBeGreaterThan(Math.max(...seqs));
  });

  it('refuses a write that names a stale last sequence (a fenced writer)', async () => {
    const a = await send('fence_me1', 1, 0);
    await send('fence_me1', 2, a.seq);
    await expect(send('fence_me1', 3, a.seq)).rejects.toThrow(/wrong last sequence/);
  });

  it('stores a retried publish (same msg id) once; the retry is refused as the server does for js.publish', async () => {
    await send('dedupe_me', 1, 0);
    // The ack of the first try was "lost": the retry names the same msg id and expected sequence.
    await expect(send('dedupe_me', 1, 0)).rejects.toThrow(/wrong last sequence/);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(EVENTS_STREAM, {
      subjects_filter: subjects.events('t1', 'dedupe_me'),
    });
    expect(info.state.subjects?.[subjects.events('t1', 'dedupe_me')]).toBe(1);
  });

  it('rejects with no responders when no stream takes the subject', async () => {
    await expect(
      pub.publish('nowhere.at.all', data('x'), {
        msgID: 'x:1',
        headers: new WireHeaders(),
        expect: { lastSubjectSequence: 0 },
        timeout: 5_000,
      }),
    ).rejects.toThrow(/503/);
  });
});

describe('ackSeq - the PubAck read without JSON.parse', () => {
  const b = (s: string) => new TextEncoder().encode(s);
  it('reads the stream sequence of a successful ack, duplicate or not', () => {
    expect(ackSeq(b('{"stream":"FABRIC_EVENTS","seq":123456}'))).toBe(123456);
    expect(ackSeq(b('{"stream":"FABRIC_EVENTS","domain":"hub","seq":7,"duplicate":true}'))).toBe(7);
  });
  it('leaves errors and anything unexpected to the JSON path', () => {
    expect(ackSeq(b('{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 41"}}'))).toBe(
      undefined,
    );
    expect(ackSeq(b('{"stream":"FABRIC_EVENTS"}'))).toBe(undefined);
    expect(ackSeq(b('{"stream":"S","seq":x}'))).toBe(undefined);
    expect(ackSeq(b(''))).toBe(undefined);
  });
});
