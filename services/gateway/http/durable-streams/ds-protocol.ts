import { type ErrorCode, errorBody } from '../../../../shared/protocol/index.js';
import type { HttpResult } from '../../transport/connection.js';

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

const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'invalid_argument',
  403: 'forbidden',
  404: 'not_found',
  405: 'invalid_argument',
  409: 'conflict',
  410: 'expired',
  413: 'frame_too_large',
  503: 'unavailable',
};

/** A refusal: the protocol's status (and headers), with the fabric's typed error as the body. */
export function dsError(status: number, message: string, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error: errorBody(CODE_OF_STATUS[status] ?? 'internal', message) }),
  };
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
