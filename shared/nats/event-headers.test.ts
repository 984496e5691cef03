import { jetstream } from '@nats-io/jetstream';
import { connect, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsCluster, startNats } from '../../scripts/topology/nats-process.js';
import { waitFor } from '../../scripts/topology/wait.js';
import { eventPosition } from './event-headers.js';
import { provisionFabric } from './provision.js';
import { SEQ_HEADER, subjects, TS_HEADER } from './subjects.js';

let nats: NatsCluster;
let nc: NatsConnection;

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
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

describe('event headers - position of a republished event without parsing its JSON', () => {
  it('reads Sf-Seq, Nats-Sequence and Sf-Ts from the raw headers, same as the decoded headers', async () => {
    const got: Msg[] = [];
    nc.subscribe(subjects.live('t1', 'hdr_test1'), {
      callback: (_e, m) => {
        got.push(m);
      },
    });
    await nc.flush();
    const js = jetstream(nc);
    const sent: { seq: number; ts: number; streamSeq: number }[] = [];
    for (let seq = 1; seq <= 3; seq++) {
      const h = headers();
      const ts = Date.now() + seq;
      h.set(SEQ_HEADER, String(seq));
      h.set(TS_HEADER, String(ts));
      h.set('Sf-Writer', 'w/1');
      const ack = await js.publish(subjects.events('t1', 'hdr_test1'), `{"seq":${seq}}`, {
        headers: h,
        msgID: `hdr_test1:${seq}`,
      });
      sent.push({ seq, ts, streamSeq: ack.seq });
    }
    await waitFor(() => got.length === 3, { what: 'republished events' });
    got.forEach((m, i) => {
      const pos = eventPosition(m);
      expect(pos).toMatchObject(sent[i]!);
      expect(pos?.seq).toBe(Number(m.headers?.get(SEQ_HEADER)));
      expect(pos?.streamSeq).toBe(Number(m.headers?.get('Nats-Sequence')));
    });
  });

  it('falls back to the msg id when Sf-Seq is missing, and ignores messages without a position', async () => {
    const got: Msg[] = [];
    nc.subscribe(subjects.live('t1', 'hdr_test2'), {
      callback: (_e, m) => {
        got.push(m);
      },
    });
    await nc.flush();
    await jetstream(nc).publish(subjects.events('t1', 'hdr_test2'), 'x', { msgID: 'hdr_test2:7' });
    nc.publish(subjects.live('t1', 'hdr_test2'), 'no headers at all');
    await waitFor(() => got.length === 2, { what: 'two messages' });
    const withId = got.find((m) => m.headers)!;
    expect(eventPosition(withId)).toMatchObject({ seq: 7, ts: undefined });
    expect(eventPosition(withId)!.streamSeq).toBeGreaterThan(0);
    expect(eventPosition(got.find((m) => !m.headers)!)).toBeUndefined();
  });
});
