/** How many recent positions a feed remembers (a resume is normally a few events behind). */
const SIZE = 16;

/**
 * A small ring of a session's recent live events as (seq, stream sequence) pairs. A client that
 * resumes after seq `after` needs the log from the event after it; any remembered event with
 * seq <= `after` lies before that one in the stream (a session's events are stored in seq order),
 * so its stream sequence + 1 is a safe place to start reading. Without one, a read starts at the
 * session's first event, and the server scans past every event of every other session stored
 * since then: under a reconnect storm those scans, not the network, were the resume latency.
 */
export class StreamPositions {
  private readonly pairs = new Float64Array(SIZE * 2);
  private count = 0;
  private next = 0;

  record(seq: number, streamSeq: number): void {
    this.pairs[this.next * 2] = seq;
    this.pairs[this.next * 2 + 1] = streamSeq;
    this.next = (this.next + 1) % SIZE;
    if (this.count < SIZE) this.count++;
  }

  /** The stream sequence to start reading events after `after` from: 1 when nothing known helps. */
  startFor(after: number): number {
    let bestSeq = 0;
    let bestStream = 0;
    for (let i = 0; i < this.count; i++) {
      const seq = this.pairs[i * 2]!;
      if (seq <= after && seq > bestSeq) {
        bestSeq = seq;
        bestStream = this.pairs[i * 2 + 1]!;
      }
    }
    return bestSeq > 0 ? bestStream + 1 : 1;
  }
}
