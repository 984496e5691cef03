import { describe, expect, it } from 'vitest';
import { StreamPositions } from './stream-positions.js';

describe('StreamPositions', () => {
  it('starts a read after the closest remembered event at or before the position', () => {
    const p = new StreamPositions();
    expect(p.startFor(5)).toBe(1); // nothing known: from the session's first event
    // Seq 1..40 stored at stream sequences 100, 110, 120, ... (other sessions in between).
    for (let seq = 1; seq <= 40; seq++) p.record(seq, 90 + seq * 10);
    expect(p.startFor(40)).toBe(491); // after the last event: right after it
    expect(p.startFor(30)).toBe(391); // within the ring (25..40): right after seq 30
    expect(p.startFor(25)).toBe(341);
    expect(p.startFor(24)).toBe(1); // older than the ring: from the start, never past the event needed
    expect(p.startFor(1_000)).toBe(491); // ahead of what was seen: after the newest known
  });

  it('never starts past the event after the position, whatever the order events were seen in', () => {
    const p = new StreamPositions();
    const stream = new Map<number, number>();
    for (let seq = 1; seq <= 100; seq++) stream.set(seq, seq * 7 + (seq % 3));
    // A reconnecting feed can see events late or twice: record them shuffled, with repeats.
    const seen = [...stream.keys(), 50, 51, 3].sort((a, b) => ((a * 37) % 101) - ((b * 37) % 101));
    for (const seq of seen) p.record(seq, stream.get(seq)!);
    for (let after = 0; after < 100; after++)
      expect(p.startFor(after)).toBeLessThanOrEqual(stream.get(after + 1)!);
  });
});
