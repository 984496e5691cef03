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
