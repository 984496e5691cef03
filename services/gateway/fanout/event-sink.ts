/** Where a session subscription delivers events: one client connection, seen through this port. */
export interface EventSink {
  readonly closed: boolean;
  /**
   * False while the client's send buffer is above the high-water mark: the subscription pauses
   * BEFORE sending (its position stays on the last event actually handed to the socket).
   */
  readonly writable: boolean;
  /**
   * Sends an event's bytes (its `seq` alongside, for sinks that frame events with an id, like
   * SSE); false means "buffer full: pause until `resume()` is called".
   */
  send(data: Uint8Array, seq: number): boolean;
  /** A session could not be served (e.g. its events expired); the sink tells its client. */
  fail(sid: string, code: 'expired' | 'unavailable' | 'internal' | 'log_rewritten', message: string): void;
}
