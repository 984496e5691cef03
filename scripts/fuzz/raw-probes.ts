import fc from 'fast-check';
import { isStandardClose } from './oracle.js';
import { encodeFrame, OP, RawSocket } from './raw-ws.js';

/**
 * Protocol-level garbage no WebSocket library would send: lying lengths, unmasked frames,
 * reserved opcodes and bits, broken fragmentation, oversized control frames, bad close codes,
 * random bytes before and after the handshake. The gateway may answer, close (standard code)
 * or drop the TCP connection; it must never crash, hang other clients, or use a made-up code.
 */
export interface RawProbe {
  name: string;
  /** Send before the handshake completes (bytes are the whole request). */
  preUpgrade?: boolean;
  bytes: Buffer;
}

const ping = () => encodeFrame(OP.text, '{"type":"ping","id":"raw-check"}');

/** The fixed corpus (each probe once per run). */
export function rawCorpus(maxFrameBytes: number): RawProbe[] {
  const json = Buffer.from('{"type":"ping","id":"frag"}');
  return [
    { name: 'claimed length 2^62', bytes: encodeFrame(OP.text, 'x', { claimedLength: 2n ** 62n }) },
    { name: 'claimed length 2^63-1', bytes: encodeFrame(OP.binary, 'x', { claimedLength: 2n ** 63n - 1n }) },
    { name: 'frame 5x the limit', bytes: encodeFrame(OP.text, Buffer.alloc(maxFrameBytes * 5, 0x61)) },
    { name: 'unmasked client frame', bytes: encodeFrame(OP.text, '{"type":"ping"}', { mask: false }) },
    { name: 'reserved opcode 3', bytes: encodeFrame(3, 'x') },
    { name: 'reserved opcode 0xB', bytes: encodeFrame(0xb, 'x') },
    { name: 'RSV1 without extension', bytes: Buffer.from([0xc1, 0x80, 0, 0, 0, 0]) },
    { name: 'continuation without start', bytes: encodeFrame(OP.continuation, 'x') },
    {
      name: 'valid fragmented text',
      bytes: Buffer.concat([
        encodeFrame(OP.text, json.subarray(0, 10), { fin: false }),
        encodeFrame(OP.continuation, json.subarray(10)),
      ]),
    },
    {
      name: 'fragments interleaved with a new text frame',
      bytes: Buffer.concat([encodeFrame(OP.text, '{"ty', { fin: false }), encodeFrame(OP.text, 'pe":1}')]),
    },
    { name: 'ping with 126-byte payload', bytes: encodeFrame(OP.ping, Buffer.alloc(126)) },
    { name: 'fragmented ping', bytes: encodeFrame(OP.ping, 'x', { fin: false }) },
    { name: 'close code 999', bytes: encodeFrame(OP.close, Buffer.from([0x03, 0xe7])) },
    { name: 'close code 1005 on the wire', bytes: encodeFrame(OP.close, Buffer.from([0x03, 0xed])) },
    { name: 'close with 1-byte payload', bytes: encodeFrame(OP.close, Buffer.from([0x03])) },
    {
      name: 'close reason not UTF-8',
      bytes: encodeFrame(OP.close, Buffer.from([0x03, 0xe8, 0xff, 0xfe])),
    },
    { name: 'text not UTF-8', bytes: encodeFrame(OP.text, Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80])) },
    {
      name: 'deep nesting 100k',
      bytes: encodeFrame(OP.text, `${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    },
    { name: 'empty text frame', bytes: encodeFrame(OP.text, '') },
    { name: 'pong nobody asked for', bytes: encodeFrame(OP.pong, 'x') },
    { name: 'half a frame header', bytes: Buffer.from([0x81]) },
    {
      name: 'HTTP garbage',
      preUpgrade: true,
      bytes: Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'),
    },
    { name: 'request line only', preUpgrade: true, bytes: Buffer.from('GET /v1/ws HTTP/1.1\r\n\r\n') },
    {
      name: 'header larger than 16 KiB',
      preUpgrade: true,
      bytes: Buffer.from(`GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(16_384)}\r\n\r\n`),
    },
    {
      name: '5000 headers',
      preUpgrade: true,
      bytes: Buffer.from(`GET /healthz HTTP/1.1\r\n${'X-A: b\r\n'.repeat(5000)}\r\n`),
    },
    {
      name: 'upgrade with a 2 KiB bogus key',
      preUpgrade: true,
      bytes: Buffer.from(
        `GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${'k'.repeat(2048)}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    },
    {
      name: 'content-length lies',
      preUpgrade: true,
      bytes: Buffer.from(
        'POST /v1/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n{"a":',
      ),
    },
    {
      name: 'chunked garbage',
      preUpgrade: true,
      bytes: Buffer.from(
        'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      ),
    },
    {
      name: 'request smuggling CL+TE',
      preUpgrade: true,
      bytes: Buffer.from(
        'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n',
      ),
    },
  ];
}

/** Random bytes after the handshake: half the time starting with a plausible frame header. */
export const randomRawProbe: fc.Arbitrary<RawProbe> = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.boolean(), fc.integer({ min: 0, max: 15 }))
  .map(([b, framed, opcode]) => ({
    name: 'random bytes',
    bytes: framed ? Buffer.concat([encodeFrame(opcode, Buffer.from(b))]) : Buffer.from(b),
  }));

export type RawOutcome = 'answered' | 'closed' | 'dropped' | 'waiting' | 'http-response';

/** Sends one probe and classifies what the gateway did; a non-standard close code is a failure. */
export async function runRawProbe(
  port: number,
  probe: RawProbe,
  headers: Record<string, string>,
  waitMs = 3_000,
): Promise<{ outcome: RawOutcome; problem: string | null }> {
  const s = probe.preUpgrade ? await RawSocket.open(port) : await RawSocket.upgrade(port, headers);
  try {
    if (!probe.preUpgrade && s.status !== 101)
      return { outcome: 'dropped', problem: `upgrade answered ${s.status}` };
    s.write(probe.bytes);
    if (probe.preUpgrade) s.socket.end();
    else s.write(ping());
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline && !s.ended && s.closeCode === undefined && !answered(s))
      await new Promise((r) => setTimeout(r, 20));
    if (s.closeCode !== undefined)
      return {
        outcome: 'closed',
        problem: isStandardClose(s.closeCode) || s.closeCode === 1005 ? null : `closed with ${s.closeCode}`,
      };
    if (answered(s)) return { outcome: 'answered', problem: null };
    if (probe.preUpgrade && s.status > 0)
      return {
        outcome: 'http-response',
        problem: s.status >= 500 && s.status !== 505 ? `HTTP ${s.status}` : null,
      };
    return { outcome: s.ended ? 'dropped' : 'waiting', problem: null };
  } finally {
    s.destroy();
  }
}

function answered(s: RawSocket): boolean {
  return s.texts().some((t) => t.includes('"reply"') || t.includes('"pong"'));
}
