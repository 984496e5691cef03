import { jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsCluster } from '../../../scripts/topology/nats-process.js';
import { waitFor } from '../../../scripts/topology/wait.js';
import { createLogger } from '../../../shared/logging/logger.js';
import { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { eventMsgId, SEQ_HEADER, subjects } from '../../../shared/nats/subjects.js';
import { startProvisionedNats } from '../../../test/harness/provisioned-nats.js';
import type { EventSink } from './event-sink.js';
import { FanoutHub } from './fanout-hub.js';

// A real nats-server, a real hub: the hub's connection comes back slowly after a broker restart,
// so an event is stored and republished while it is away.
let nats: NatsCluster;
let hubNc: NatsConnection;
let pubNc: NatsConnection;

beforeAll(async () => {
  ({ nats, nc: pubNc } = await startProvisionedNats());
  hubNc = await connect({
    servers: nats.urls.split(','),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 3_000,
    reconnectJitter: 0,
  });
});
afterAll(async () => {
  await hubNc?.close();
  await pubNc?.close();
  await nats?.stop();
});

class RecordingSink implements EventSink {
  readonly seqs: number[] = [];
  readonly failures: string[] = [];
  closed = false;
  writable = true;
  send(data: Uint8Array): boolean {
    this.seqs.push((JSON.parse(new TextDecoder().decode(data)) as { seq: number }).seq);
    return true;
  }
  fail(_sid: string, code: string): void {
    this.failures.push(code);
  }
}

/** Stores one event the way a worker does (seq header, msg id), retrying while the broker is back up. */
async function store(sid: string, seq: number, type: 'token' | 'done', writer = 'test/1'): Promise<void> {
  const h = headers();
  h.set(SEQ_HEADER, String(seq));
  const event =
    type === 'token'
      ? { sid, seq, ts: Date.now(), type, text: `t${seq} by ${writer}` }
      : { sid, seq, ts: Date.now(), type, finishReason: 'stop', tokens: 1, durationMs: 1 };
  await waitFor(
    () =>
      jetstream(pubNc)
        .publish(subjects.events('public', sid), JSON.stringify(event), {
          msgID: eventMsgId(sid, seq, writer),
          headers: h,
          timeout: 1_000,
        })
        .then(() => true),
    { timeoutMs: 20_000, intervalMs: 100, what: `event ${seq} stored` },
  );
}

/** A hub on the slow-reconnecting connection; `lingerMs` is STREAM_RECONNECTION_TIMEOUT. */
async function newHub(lingerMs: number): Promise<FanoutHub> {
  const log = createLogger({ name: 'test', level: 'silent' });
  const observer = { delivered() {}, paused() {} };
  return new FanoutHub(hubNc, await JetStreamEventLog.create(hubNc), observer, log, undefined, lingerMs);
}

describe('fanout - NATS reconnect', () => {
  it('catches live subscriptions up from the log after a reconnect, even when the missed event is the last one', async () => {
    const hub = await newHub(0);
    const sid = 's_reconnect_1';
    const sink = new RecordingSink();
    hub.subscribe('public', sid, 0, sink);
    await store(sid, 1, 'token');
    await waitFor(() => sink.seqs.length === 1, { what: 'the first event, live' });

    await nats.nodes[0]!.restart();
    // The publisher is back long before the hub's connection (which waits 3 s between attempts):
    // `done` is republished while no gateway subscription exists, and nothing follows it.
    await store(sid, 2, 'done');
    expect(hubNc.isClosed()).toBe(false);
    await waitFor(() => sink.seqs.length === 2, { timeoutMs: 20_000, what: 'the missed last event' });
    expect(sink.seqs).toEqual([1, 2]);
  });
});

describe('fanout - STREAM_RECONNECTION_TIMEOUT linger', () => {
  it('keeps a session feed for the linger after its last client leaves, reuses it on return, then releases it', async () => {
    const hub = await newHub(600);
    const sid = 's_linger_1';
    const first = new RecordingSink();
    const sub = hub.subscribe('public', sid, 0, first);
    await store(sid, 1, 'token');
    await waitFor(() => first.seqs.length === 1, { what: 'the first event' });

    hub.unsubscribe('public', sub);
    expect(hub.sessionCount).toBe(1); // lingering, not released
    await store(sid, 2, 'token'); // stored while nobody here follows the session
    // The client comes back within the linger: the same upstream feed serves it, and it catches up.
    const back = new RecordingSink();
    const again = hub.subscribe('public', sid, 1, back);
    await store(sid, 3, 'done');
    await waitFor(() => back.seqs.length === 2, { what: 'events 2 and 3 after the return' });
    expect(back.seqs).toEqual([2, 3]);
    expect(hub.sessionCount).toBe(1);

    hub.unsubscribe('public', again);
    await new Promise((r) => setTimeout(r, 300));
    // Timers fire in deadline order: this one (300 ms) always before the 600 ms linger.
    expect(hub.sessionCount).toBe(1);
    await waitFor(() => hub.sessionCount === 0, {
      timeoutMs: 5_000,
      what: 'the feed released after the linger',
    });
  });
});

describe('fanout - log generations', () => {
  it('a log lost and written again is reported as log_rewritten, never spliced onto the old one', async () => {
    const hub = await newHub(0);
    const sid = 's_rewritten_1';
    const sink = new RecordingSink();
    hub.subscribe('public', sid, 0, sink);
    await store(sid, 1, 'token');
    await store(sid, 2, 'token');
    await waitFor(() => sink.seqs.length === 2, { what: 'the first two events' });
    // The log is lost and another writer writes seqs 1..3 again, with other content.
    await (await JetStreamEventLog.create(pubNc)).purge('public', sid);
    for (const seq of [1, 2]) await store(sid, seq, 'token', 'other/1');
    await store(sid, 3, 'done', 'other/1');
    hub.resyncAll(); // what a reconnect or the JetStream probe does after an outage
    await waitFor(() => sink.failures.length > 0, { what: 'log_rewritten' });
    expect(sink.failures).toEqual(['log_rewritten']);
    expect(sink.seqs).toEqual([1, 2]); // event 3 of the new log never reached this subscriber
  });
});
