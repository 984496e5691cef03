/**
 * Whether a process's NATS link is up, fed by `connectNats`'s status callback, with each
 * status change counted (the `*_nats_status_events_total` metrics). Readiness probes read it.
 */
export class NatsLinkState {
  private up = false;

  constructor(private readonly count: (type: string) => void) {}

  /** Pass as `connectNats({ onStatus })`. */
  readonly onStatus = (type: string): void => {
    this.count(type);
    if (type === 'disconnect') this.up = false;
    if (type === 'reconnect') this.up = true;
  };

  /** The first connection (and whatever the process needed after it) is done. */
  markUp(): void {
    this.up = true;
  }

  get connected(): boolean {
    return this.up;
  }
}
