/**
 * Names and small pure helpers of the Durable Streams protocol (header and query names as the
 * published `@durable-streams/client` spells them; headers are matched lower-cased).
 */
export const H = {
  nextOffset: 'Stream-Next-Offset',
  cursor: 'Stream-Cursor',
  upToDate: 'Stream-Up-To-Date',
  closed: 'Stream-Closed',
  seq: 'Stream-Seq',
  ttl: 'Stream-TTL',
  expiresAt: 'Stream-Expires-At',
  producerId: 'Producer-Id',
  producerEpoch: 'Producer-Epoch',
  producerSeq: 'Producer-Seq',
  producerExpectedSeq: 'Producer-Expected-Seq',
  producerReceivedSeq: 'Producer-Received-Seq',
  forkedFrom: 'Stream-Forked-From',
  forkOffset: 'Stream-Fork-Offset',
  forkSubOffset: 'Stream-Fork-Sub-Offset',
  sseDataEncoding: 'Stream-SSE-Data-Encoding',
} as const;

/** The offset of an empty stream: `<read seq>_<byte offset>`, 16 digits each, so strings sort. */
export const ZERO_OFFSET = '0000000000000000_0000000000000000';

/** Response headers every Durable Streams answer carries (protocol section 10.7). */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'cross-origin',
};

/** A plain-text answer (the protocol's errors are short text bodies). */
export function text(status: number, body = '', headers: Record<string, string> = {}) {
  return { status, headers: { 'content-type': 'text/plain', ...headers }, body };
}

/** `content-type` without parameters, lower-cased (`application/json; charset=utf-8` → `application/json`). */
export function baseContentType(ct: string | undefined): string {
  return (ct ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isJsonType(ct: string | undefined): boolean {
  return baseContentType(ct) === 'application/json';
}

/** Strict non-negative decimal integer: no sign, exponent, spaces or leading zeros. */
export const STRICT_UINT = /^(0|[1-9]\d*)$/;
/** A client-supplied read offset: `-1` (start), `now` (tail) or a server offset. */
export const READ_OFFSET = /^(-1|now|\d+_\d+)$/;

/** SSE `data:` lines: every line terminator of the payload starts a new `data:` line (no injection). */
export function sseData(payload: string): string {
  return `${payload
    .split(/\r\n|\r|\n/)
    .map((l) => `data:${l}`)
    .join('\n')}\n\n`;
}
