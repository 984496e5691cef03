import type { HttpRequestInfo, HttpResult } from '../../transport/connection.js';
import type { DsCommand } from './ds-commands.js';
import { dsError, H, STRICT_UINT } from './ds-protocol.js';

/** A request turned into a command, or the protocol's answer to a malformed one. */
export type Parsed = { cmd: DsCommand } | { answer: HttpResult };

const h = (req: HttpRequestInfo, name: string): string | undefined => req.headers[name.toLowerCase()];

/** PUT: create (or idempotently re-create, or fork). Only stateless checks happen here. */
export function parseCreate(req: HttpRequestInfo, key: (path: string) => string): Parsed {
  const forkedFrom = h(req, H.forkedFrom);
  let contentType = h(req, 'content-type');
  // A fork without Content-Type inherits the source's; anything else defaults to octet-stream.
  if (!contentType?.trim() || !/^[\w-]+\/[\w-]+/.test(contentType))
    contentType = forkedFrom ? undefined : 'application/octet-stream';
  const ttl = h(req, H.ttl);
  const expiresAt = h(req, H.expiresAt);
  if (ttl && expiresAt)
    return { answer: dsError(400, 'Cannot specify both Stream-TTL and Stream-Expires-At') };
  if (ttl !== undefined && !STRICT_UINT.test(ttl))
    return { answer: dsError(400, 'Invalid Stream-TTL value') };
  if (expiresAt && Number.isNaN(new Date(expiresAt).getTime()))
    return { answer: dsError(400, 'Invalid Stream-Expires-At timestamp') };
  const forkOffset = h(req, H.forkOffset);
  if (forkOffset && !/^\d+_\d+$/.test(forkOffset))
    return { answer: dsError(400, 'Invalid Stream-Fork-Offset format') };
  const sub = h(req, H.forkSubOffset);
  if (sub !== undefined) {
    if (!forkedFrom) return { answer: dsError(400, 'Stream-Fork-Sub-Offset requires Stream-Forked-From') };
    if (!STRICT_UINT.test(sub)) return { answer: dsError(400, 'Invalid Stream-Fork-Sub-Offset format') };
  }
  return {
    cmd: {
      op: 'create',
      path: key(req.path),
      contentType,
      ttlSeconds: ttl ? Number(ttl) : undefined,
      expiresAt: expiresAt || undefined,
      closed: h(req, H.closed) === 'true',
      forkedFrom: forkedFrom ? key(forkedFrom) : undefined,
      forkOffset: forkOffset || undefined,
      forkSubOffset: sub !== undefined ? Number(sub) : undefined,
    },
  };
}

/** POST: append, append-and-close, or close-only; producer headers come all three or not at all. */
export function parseAppend(req: HttpRequestInfo, key: (path: string) => string): Parsed {
  const id = h(req, H.producerId);
  const epoch = h(req, H.producerEpoch);
  const seq = h(req, H.producerSeq);
  const some = id !== undefined || epoch !== undefined || seq !== undefined;
  const all = id !== undefined && epoch !== undefined && seq !== undefined;
  if (some && !all)
    return {
      answer: dsError(
        400,
        'All producer headers (Producer-Id, Producer-Epoch, Producer-Seq) must be provided together',
      ),
    };
  if (all && id === '') return { answer: dsError(400, 'Invalid Producer-Id: must not be empty') };
  let producer: { id: string; epoch: number; seq: number } | undefined;
  if (all) {
    if (!/^\d+$/.test(epoch) || !Number.isSafeInteger(Number(epoch)))
      return { answer: dsError(400, 'Invalid Producer-Epoch: must be a non-negative integer') };
    if (!/^\d+$/.test(seq) || !Number.isSafeInteger(Number(seq)))
      return { answer: dsError(400, 'Invalid Producer-Seq: must be a non-negative integer') };
    producer = { id, epoch: Number(epoch), seq: Number(seq) };
  }
  const close = h(req, H.closed) === 'true';
  const contentType = h(req, 'content-type');
  if (req.body.length === 0 && !close) return { answer: dsError(400, 'Empty body') };
  // A close-only request needs no Content-Type (protocol section 5.2).
  if (req.body.length > 0 && !contentType) return { answer: dsError(400, 'Content-Type header is required') };
  return {
    cmd: { op: 'append', path: key(req.path), contentType, seq: h(req, H.seq), close, producer },
  };
}
