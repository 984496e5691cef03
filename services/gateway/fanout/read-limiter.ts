/**
 * Caps how many catch-up reads a gateway runs at once. Thousands of sessions resuming together
 * (a gateway died, a slow reader drained) would otherwise ask NATS for all their history at the
 * same moment: the responses overflow the connection's pending limit, the server cuts the
 * gateway off as a slow consumer, and every read fails. Queued reads run in arrival order.
 */
export class ReadLimiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Runs `read` (an async iterable) once a slot is free, holding the slot until it ends or is abandoned. */
  async *run<T>(read: () => AsyncIterable<T>): AsyncGenerator<T> {
    if (this.running >= this.max) await new Promise<void>((r) => this.queue.push(r));
    else this.running++;
    try {
      yield* read();
    } finally {
      const next = this.queue.shift();
      // Hand the slot straight to the next reader, or free it.
      if (next) next();
      else this.running--;
    }
  }
}
