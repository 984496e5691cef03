import { describe, expect, it } from 'vitest';
import { JetStreamEventLog } from '../../../shared/nats/event-log.js';
import { provisionedNatsPerFile } from '../../../test/harness/provisioned-nats.js';
import { ackPublisherFor } from './ack-publisher.js';
import { SessionWriter } from './session-writer.js';

const server = provisionedNatsPerFile();

describe('session writer - failure', () => {
  it("stops for good after a write it could not store: a later event never takes the lost one's seq", async () => {
    const log = await JetStreamEventLog.create(server.nc);
    const sid = 's_writer_failstop';
    const writer = new SessionWriter(
      ackPublisherFor(server.nc),
      log,
      'public',
      sid,
      'w-test/1',
      1,
      0,
      0,
      200,
    );
    expect((await writer.append({ type: 'token', text: 'one', index: 0 })).seq).toBe(1);
    // Larger than the server's max_payload: refused whatever the retries.
    const lost = writer.append({ type: 'token', text: 'x'.repeat(9 * 1024 * 1024), index: 1 });
    const after = writer.append({ type: 'token', text: 'three', index: 2 });
    await expect(lost).rejects.toThrow();
    await expect(after).rejects.toThrow();
    // Had the third event been written as seq 2, the log would read "onethree": contiguous, text lost.
    const last = await log.last('public', sid, { fromLeader: true });
    expect(last?.event.seq).toBe(1);
  });
});

describe('session writer - the user answers while a write is in flight', () => {
  it('an answer the input broker adopted during a refused write is not a rival writer: the write follows it', async () => {
    const log = await JetStreamEventLog.create(server.nc);
    const sid = 's_writer_adoptrace';
    const real = ackPublisherFor(server.nc);
    const requestId = `${sid}.t1.q1`;
    let gatewayAnswers: (() => Promise<void>) | undefined;
    // The publisher lets the gateway's `input` (and the broker's adoption of it) land between the
    // writer choosing its seq and its publish reaching the server: the race a rerun's ask() runs.
    const racing = {
      async publish(subject: string, data: Uint8Array, opts: Parameters<typeof real.publish>[2]) {
        const answer = gatewayAnswers;
        gatewayAnswers = undefined;
        await answer?.();
        return real.publish(subject, data, opts);
      },
    };
    const writer = new SessionWriter(racing, log, 'public', sid, 'w-test/1', 1, 0, 0);
    writer.expectAnswer(requestId);
    await writer.append({ type: 'user_message', text: 'book it' });
    const asked = await writer.append({ type: 'input_request', requestId, prompt: 'Book it?' });
    gatewayAnswers = async () => {
      const streamSeq = await log.append(
        'public',
        { type: 'input', sid, seq: asked.seq + 1, ts: Date.now(), requestId, text: 'yes' },
        writer.lastStreamSequence,
        'gateway-test',
      );
      writer.adopt(asked.seq + 1, streamSeq); // what the input broker does when it sees the answer
    };
    const token = await writer.append({ type: 'token', text: 'Booked', index: 0 });
    expect(token.seq).toBe(asked.seq + 2);
    const stored = (await log.readAll('public', sid)).events.map((e) => e.type);
    expect(stored).toEqual(['user_message', 'input_request', 'input', 'token']);
  });
});
