/** Totals of delivery faults seen by the load client, proved by each session's contiguous `seq`. */
export interface SeqFaults {
  lost: number;
  duplicated: number;
  reordered: number;
}

/**
 * Checks one session's stream of `seq`s: a jump ahead counts the skipped seqs as lost (until
 * they show up late, when they turn into reordered), a seq seen before is a duplicate.
 */
export class SeqChecker {
  private next = 1;
  private missing: Set<number> | null = null;

  constructor(private readonly faults: SeqFaults) {}

  /** The last seq received in order (what a resume asks to continue after). */
  get position(): number {
    return this.next - 1;
  }

  /** Records a seq; returns true when it is the next expected one. */
  see(seq: number): boolean {
    if (seq === this.next) {
      this.next++;
      return true;
    }
    if (seq > this.next) {
      this.missing ??= new Set();
      for (let s = this.next; s < seq && this.missing.size < 10_000; s++) this.missing.add(s);
      this.faults.lost += seq - this.next;
      this.next = seq + 1;
    } else if (this.missing?.delete(seq)) {
      this.faults.lost--;
      this.faults.reordered++;
    } else {
      this.faults.duplicated++;
    }
    return false;
  }
}
