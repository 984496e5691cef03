import type { MsgHdrs } from '@nats-io/transport-node';

/**
 * Message headers built the way NATS puts them on the wire ("NATS/1.0\r\nKey: Value\r\n...\r\n\r\n"),
 * for the worker's event publishes. nats.js's header map validates and re-encodes every header of
 * every message (~7 % of a busy worker's CPU in profiles); the publish path only calls `encode()`,
 * so a session event's five headers are kept as a short list and concatenated once.
 */
export class WireHeaders {
  private readonly keys: string[] = [];
  private readonly values: string[] = [];

  /** Sets a header (replacing an earlier value of the same key). CR and LF are stripped. */
  set(key: string, value: string): void {
    // Header values here are digits and ids: the scan is cheaper than the regex it usually skips.
    const v = value.indexOf('\r') < 0 && value.indexOf('\n') < 0 ? value : value.replace(/[\r\n]/g, '');
    const i = this.keys.indexOf(key);
    if (i >= 0) this.values[i] = v;
    else {
      this.keys.push(key);
      this.values.push(v);
    }
  }

  get(key: string): string {
    const i = this.keys.indexOf(key);
    return i >= 0 ? this.values[i]! : '';
  }

  /** The header block's bytes, as nats.js's `MsgHdrs.encode()` produces them. */
  encode(): Uint8Array {
    let s = 'NATS/1.0';
    for (let i = 0; i < this.keys.length; i++) s += `\r\n${this.keys[i]}: ${this.values[i]}`;
    return Buffer.from(`${s}\r\n\r\n`);
  }

  /** For nats.js's publish options: it only calls `encode()` on them. */
  asMsgHdrs(): MsgHdrs {
    return this as unknown as MsgHdrs;
  }
}
