import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A raw WebSocket client on a TCP socket, for hostile-input tests: it can send what no
 * well-behaved library sends (bad lengths, unmasked or fragmented frames, invalid UTF-8, half a
 * handshake) and read the server's frames, close code included, byte by byte.
 */
export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Encodes one client frame (masked, as RFC 6455 requires of clients unless `mask` is false). */
export function encodeFrame(
  opcode: number,
  payload: Buffer | string,
  o: { fin?: boolean; mask?: boolean; claimedLength?: bigint } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = o.claimedLength ?? BigInt(data.length);
  const mask = o.mask ?? true;
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | (opcode & 0x0f)];
  const maskBit = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push(maskBit | Number(len));
  else if (len < 65536n) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

/** The bytes of an upgrade request. */
export function upgradeRequest(host: string, path: string, headers: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Protocol: streamfabric.v1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A raw connection: the parsed server frames, the close code, and whether the socket ended. */
export class RawSocket {
  readonly frames: ServerFrame[] = [];
  status = 0;
  closeCode: number | undefined;
  ended = false;
  private buf = Buffer.alloc(0);
  private upgraded = false;
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    this.done = new Promise((resolve) => {
      socket.on('close', () => {
        this.ended = true;
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection (no bytes sent). */
  static async open(port: number, host = '127.0.0.1'): Promise<RawSocket> {
    const s = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    return new RawSocket(s);
  }

  /** Opens and upgrades; resolves once the 101 (or a refusal status) arrived. */
  static async upgrade(port: number, headers: Record<string, string> = {}): Promise<RawSocket> {
    const r = await RawSocket.open(port);
    r.socket.write(upgradeRequest(`127.0.0.1:${port}`, '/v1/ws', headers));
    const deadline = Date.now() + 10_000;
    while (r.status === 0 && !r.ended && Date.now() < deadline) await new Promise((x) => setTimeout(x, 10));
    return r;
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Text frames received, as strings. */
  texts(): string[] {
    return this.frames.filter((f) => f.opcode === OP.text).map((f) => f.payload.toString('utf8'));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = Number(
        /^HTTP\/1\.1 (\d{3})/.exec(this.buf.subarray(0, end).toString('latin1'))?.[1] ?? 0,
      );
      this.buf = this.buf.subarray(end + 4);
      this.upgraded = this.status === 101;
      if (!this.upgraded) return;
    }
    for (;;) {
      const f = parseFrame(this.buf);
      if (!f) return;
      this.buf = this.buf.subarray(f.size);
      this.frames.push({ opcode: f.opcode, payload: f.payload });
      if (f.opcode === OP.close && f.payload.length >= 2) this.closeCode = f.payload.readUInt16BE(0);
      else if (f.opcode === OP.close) this.closeCode = 1005;
    }
  }
}

/** Parses one unmasked server frame from the head of `b`, or null when incomplete. */
function parseFrame(b: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (b.length < 2) return null;
  const opcode = b[0]! & 0x0f;
  let len = b[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    len = Number(b.readBigUInt64BE(2));
    off = 10;
  }
  if (b.length < off + len) return null;
  return { opcode, payload: Buffer.from(b.subarray(off, off + len)), size: off + len };
}
