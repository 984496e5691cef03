import type { StreamStore } from '@durable-streams/server';
import { z } from 'zod';
import type { HttpResult } from '../../transport/connection.js';
import { dsError, H } from './ds-protocol.js';

/**
 * A mutation of a Durable Stream as it travels through the command log. Headers are validated
 * (statelessly) by the gateway that received the request before it is logged; what depends on the
 * stream's state is decided when each gateway applies the command, in log order, so every gateway
 * reaches the same state and the same answer.
 */
export const DsCommand = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('create'),
    path: z.string(),
    contentType: z.string().optional(),
    ttlSeconds: z.number().int().nonnegative().optional(),
    expiresAt: z.string().optional(),
    closed: z.boolean(),
    forkedFrom: z.string().optional(),
    forkOffset: z.string().optional(),
    forkSubOffset: z.number().int().nonnegative().optional(),
  }),
  z.object({
    op: z.literal('append'),
    path: z.string(),
    contentType: z.string().optional(),
    seq: z.string().optional(),
    close: z.boolean(),
    producer: z.object({ id: z.string(), epoch: z.number().int(), seq: z.number().int() }).optional(),
  }),
  z.object({ op: z.literal('delete'), path: z.string() }),
]);
export type DsCommand = z.infer<typeof DsCommand>;

/** What an applied command tells the gateway that logged it. */
export interface DsOutcome {
  result: HttpResult;
  /** The stream got new data or was closed: readers waiting on it should look again. */
  changed: boolean;
}

const PROTOCOL_ERRORS: [RegExp, number, string][] = [
  [/active forks/, 409, 'stream was deleted but still has active forks'],
  [/soft-deleted/, 410, 'Stream is gone'],
  [/Source stream not found/, 404, 'Source stream not found'],
  [/Invalid fork sub-offset/, 400, 'Invalid fork sub-offset'],
  [/Invalid fork offset/, 400, 'Fork offset beyond source stream length'],
  [/Content type mismatch/, 409, 'Content type mismatch with source stream'],
  [/not found/, 404, 'Stream not found'],
  [/already exists with different configuration/, 409, 'Stream already exists with different configuration'],
  [/Sequence conflict/, 409, 'Sequence conflict'],
  [/Content-type mismatch/, 409, 'Content-type mismatch'],
  [/Invalid JSON/, 400, 'Invalid JSON'],
  [/Empty arrays are not allowed/, 400, 'Empty arrays are not allowed'],
];

/** Maps the store's refusals to protocol answers; anything else is a bug and rethrown. */
function refusal(err: unknown, op: DsCommand['op']): HttpResult {
  const msg = err instanceof Error ? err.message : String(err);
  for (const [re, status, body] of PROTOCOL_ERRORS) {
    // On create, a soft-deleted source or path is a conflict, not "gone".
    if (re.test(msg)) return dsError(op === 'create' && /soft-deleted/.test(msg) ? 409 : status, body);
  }
  throw err;
}

/**
 * Applies one command to this gateway's view. Deterministic given the same view and command
 * order (the stream's clock is the only input that is not in the log: TTLs are evaluated locally).
 */
export async function applyCommand(store: StreamStore, cmd: DsCommand, body: Uint8Array): Promise<DsOutcome> {
  try {
    if (cmd.op === 'create') return create(store, cmd, body);
    if (cmd.op === 'delete') return remove(store, cmd.path);
    const outcome = await append(store, cmd, body);
    // Every write, close-only included, renews a sliding TTL on every gateway (it is in the log).
    if (outcome.changed) store.touchAccess(cmd.path);
    return outcome;
  } catch (err) {
    return { result: refusal(err, cmd.op), changed: false };
  }
}

function create(store: StreamStore, c: Extract<DsCommand, { op: 'create' }>, body: Uint8Array): DsOutcome {
  const isNew = !store.has(c.path);
  const s = store.create(c.path, {
    contentType: c.contentType,
    ttlSeconds: c.ttlSeconds,
    expiresAt: c.expiresAt,
    initialData: body.length > 0 ? body : undefined,
    closed: c.closed,
    forkedFrom: c.forkedFrom,
    forkOffset: c.forkOffset,
    forkSubOffset: c.forkSubOffset,
  });
  const headers: Record<string, string> = {
    'content-type': s.contentType ?? c.contentType ?? 'application/octet-stream',
    [H.nextOffset]: s.currentOffset,
  };
  if (s.closed) headers[H.closed] = 'true';
  // 201 gets its Location from the gateway that took the request (it knows the Host it was asked by).
  return { result: { status: isNew ? 201 : 200, headers }, changed: isNew };
}

function remove(store: StreamStore, path: string): DsOutcome {
  if (store.get(path)?.softDeleted) return { result: dsError(410, 'Stream is gone'), changed: false };
  if (!store.delete(path)) return { result: dsError(404, 'Stream not found'), changed: false };
  return { result: { status: 204 }, changed: true };
}

type ProducerResult = {
  status: string;
  lastSeq?: number;
  currentEpoch?: number;
  expectedSeq?: number;
  receivedSeq?: number;
};

/** The answer to a producer that was not accepted (duplicate, fenced, gap), or undefined if accepted. */
function producerRefusal(
  r: ProducerResult | undefined,
  epoch: number,
  closedHeaders: Record<string, string>,
): HttpResult | undefined {
  if (!r || r.status === 'accepted') return undefined;
  switch (r.status) {
    case 'duplicate':
      return {
        status: 204,
        headers: { ...closedHeaders, [H.producerEpoch]: String(epoch), [H.producerSeq]: String(r.lastSeq) },
      };
    case 'stale_epoch':
      return dsError(403, 'Stale producer epoch', { [H.producerEpoch]: String(r.currentEpoch) });
    case 'invalid_epoch_seq':
      return dsError(400, 'New epoch must start with sequence 0');
    case 'sequence_gap':
      return dsError(409, 'Producer sequence gap', {
        [H.producerExpectedSeq]: String(r.expectedSeq),
        [H.producerReceivedSeq]: String(r.receivedSeq),
      });
    default:
      return undefined;
  }
}

async function append(
  store: StreamStore,
  c: Extract<DsCommand, { op: 'append' }>,
  body: Uint8Array,
): Promise<DsOutcome> {
  const p = c.producer;
  const closedAt = (offset: string | undefined) => ({ [H.closed]: 'true', [H.nextOffset]: offset ?? '' });
  if (body.length === 0) {
    // Close-only (the gateway refused an empty body without Stream-Closed before logging).
    if (p) {
      const r = await store.closeStreamWithProducer(c.path, {
        producerId: p.id,
        producerEpoch: p.epoch,
        producerSeq: p.seq,
      });
      if (!r) return { result: dsError(404, 'Stream not found'), changed: false };
      if (r.producerResult?.status === 'stream_closed')
        return { result: dsError(409, 'Stream is closed', closedAt(r.finalOffset)), changed: false };
      const refused = producerRefusal(r.producerResult, p.epoch, closedAt(r.finalOffset));
      if (refused) return { result: refused, changed: false };
      return {
        result: {
          status: 204,
          headers: {
            ...closedAt(r.finalOffset),
            [H.producerEpoch]: String(p.epoch),
            [H.producerSeq]: String(p.seq),
          },
        },
        changed: true,
      };
    }
    const r = store.closeStream(c.path);
    if (!r) return { result: dsError(404, 'Stream not found'), changed: false };
    return { result: { status: 204, headers: closedAt(r.finalOffset) }, changed: true };
  }
  const raw = store.append(c.path, body, {
    seq: c.seq,
    contentType: c.contentType,
    producerId: p?.id,
    producerEpoch: p?.epoch,
    producerSeq: p?.seq,
    close: c.close,
  });
  const r = 'message' in raw ? raw : { message: raw, producerResult: undefined, streamClosed: undefined };
  if (r.streamClosed && !r.message) {
    const offset = store.get(c.path)?.currentOffset;
    if (p && r.producerResult?.status === 'duplicate')
      return {
        result: {
          status: 204,
          headers: {
            ...closedAt(offset),
            [H.producerEpoch]: String(p.epoch),
            [H.producerSeq]: String(r.producerResult.lastSeq),
          },
        },
        changed: false,
      };
    return { result: dsError(409, 'Stream is closed', closedAt(offset)), changed: false };
  }
  if (p) {
    const refused = producerRefusal(r.producerResult, p.epoch, r.streamClosed ? { [H.closed]: 'true' } : {});
    if (refused) return { result: refused, changed: false };
  }
  const headers: Record<string, string> = { [H.nextOffset]: r.message!.offset };
  if (p) {
    headers[H.producerEpoch] = String(p.epoch);
    headers[H.producerSeq] = String(p.seq);
  }
  if (c.close) headers[H.closed] = 'true';
  return { result: { status: p ? 200 : 204, headers }, changed: true };
}
