import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { WireHeaders } from './wire-headers.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('wire headers - the bytes nats.js would send', () => {
  it('encodes exactly like nats.js MsgHdrs for the same headers', () => {
    const ours = new WireHeaders();
    const theirs = headers();
    for (const [k, v] of [
      ['Sf-Seq', '42'],
      ['Sf-Writer', 'w-1/3'],
      ['Sf-Ts', '1700000000123'],
      ['Nats-Msg-Id', 's_abc:42'],
      ['Nats-Expected-Last-Subject-Sequence', '977'],
    ]) {
      ours.set(k!, v!);
      theirs.set(k!, v!);
    }
    // nats.js's publish calls `encode()` on its header map (not in the public type).
    const encoded = (theirs as unknown as { encode(): Uint8Array }).encode();
    expect(text(ours.encode())).toBe(text(encoded));
  });

  it('replaces a key set twice (a retried publish) and strips CR/LF from values', () => {
    const h = new WireHeaders();
    h.set('Nats-Msg-Id', 'a:1');
    h.set('Sf-Writer', 'evil\r\nInjected: 1');
    h.set('Nats-Msg-Id', 'a:2');
    expect(h.get('Nats-Msg-Id')).toBe('a:2');
    expect(text(h.encode())).toBe('NATS/1.0\r\nNats-Msg-Id: a:2\r\nSf-Writer: evilInjected: 1\r\n\r\n');
  });
});
