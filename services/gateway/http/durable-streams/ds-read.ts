import { gzipSync } from 'node:zlib';
import { generateResponseCursor, type StreamStore } from '@durable-streams/server';
import type { HttpRequestInfo, HttpResult, HttpStream } from '../../transport/connection.js';
import { dsError, H, isJsonType, READ_OFFSET, sseData } from './ds-protocol.js';

type Stream = NonNullable<ReturnType<StreamStore['get']>>;
type Message = Stream['messages'][number];

/** Responses at least this large are gzipped when the client accepts it. */
const COMPRESS_MIN_BYTES = 1024;

/** ETag of a read: the URL path, the range it covers, and whether the stream is closed there. */
function etag(urlPath: string, from: string, to: string, closed: boolean): string {
  return `"${Buffer.from(urlPath).toString('base64')}:${from}:${to}${closed ? ':c' : ''}"`;
}

/** HEAD: the stream's metadata, never cached (the tail moves). */
export function head(store: StreamStore, key: string, urlPath: string): HttpResult {
  const s = store.get(key);
  // HEAD answers carry no body.
  if (!s) return { status: 404 };
  if (s.softDeleted) return { status: 410 };
  const headers: Record<string, string> = {
    [H.nextOffset]: s.currentOffset,
    'cache-control': 'no-store',
    etag: etag(urlPath, '-1', s.currentOffset, !!s.closed),
  };
  if (s.contentType) headers['content-type'] = s.contentType;
  if (s.closed) headers[H.closed] = 'true';
  if (s.ttlSeconds !== undefined) headers[H.ttl] = String(s.ttlSeconds);
  if (s.expiresAt) headers[H.expiresAt] = s.expiresAt;
  return { status: 200, headers };
}

export interface ReadOptions {
  longPollMs: number;
  /** Called when an SSE stream starts and ends (for the open-streams gauge). */
  sse?: (delta: 1 | -1) => void;
}

/** GET: catch-up, long-poll (`live=long-poll`) or SSE (`live=sse`) from `offset`. */
export async function read(
  store: StreamStore,
  key: string,
  req: HttpRequestInfo,
  res: HttpStream,
  o: ReadOptions,
): Promise<void> {
  const s = store.get(key);
  if (!s) return res.respond(dsError(404, 'Stream not found'));
  if (s.softDeleted) return res.respond(dsError(410, 'Stream is gone'));
  const offsets = req.query.getAll('offset');
  const offset = offsets[0];
  const live = req.query.get('live');
  const cursor = req.query.get('cursor') ?? undefined;
  if (offset !== undefined) {
    if (offset === '') return res.respond(dsError(400, 'Empty offset parameter'));
    if (offsets.length > 1) return res.respond(dsError(400, 'Multiple offset parameters not allowed'));
    if (!READ_OFFSET.test(offset)) return res.respond(dsError(400, 'Invalid offset format'));
  }
  if ((live === 'long-poll' || live === 'sse') && !offset)
    return res.respond(dsError(400, `${live === 'sse' ? 'SSE' : 'Long-poll'} requires offset parameter`));
  if (live === 'sse') return sse(store, key, s, offset === 'now' ? s.currentOffset : offset!, cursor, res, o);
  if (offset === 'now' && live !== 'long-poll') {
    const headers: Record<string, string> = {
      [H.nextOffset]: s.currentOffset,
      [H.upToDate]: 'true',
      'cache-control': 'no-store',
    };
    if (s.contentType) headers['content-type'] = s.contentType;
    if (s.closed) headers[H.closed] = 'true';
    store.touchAccess(key);
    return res.respond({ status: 200, headers, body: isJsonType(s.contentType) ? '[]' : '' });
  }
  const from = offset === 'now' ? s.currentOffset : offset;
  let { messages, upToDate } = store.read(key, from);
  store.touchAccess(key);
  const caughtUp = offset === 'now' || (from !== undefined && from === s.currentOffset);
  if (live === 'long-poll' && caughtUp && messages.length === 0) {
    const tail = from ?? s.currentOffset;
    if (s.closed) return res.respond(noContent(tail, undefined, true));
    const r = await store.waitForMessages(key, tail, o.longPollMs);
    store.touchAccess(key);
    if (res.closed) return;
    if (r.streamClosed) return res.respond(noContent(tail, generateResponseCursor(cursor), true));
    if (r.timedOut)
      return res.respond(noContent(tail, generateResponseCursor(cursor), !!store.get(key)?.closed));
    messages = r.messages;
    upToDate = true;
  }
  res.respond(catchUpAnswer(store, key, req, s, messages, upToDate, offset ?? '-1', live, cursor));
}

function noContent(offset: string, cursor: string | undefined, closed: boolean): HttpResult {
  const headers: Record<string, string> = { [H.nextOffset]: offset, [H.upToDate]: 'true' };
  if (cursor) headers[H.cursor] = cursor;
  if (closed) headers[H.closed] = 'true';
  return { status: 204, headers };
}

function catchUpAnswer(
  store: StreamStore,
  key: string,
  req: HttpRequestInfo,
  s: Stream,
  messages: Message[],
  upToDate: boolean,
  from: string,
  live: string | null,
  cursor: string | undefined,
): HttpResult {
  const headers: Record<string, string> = {};
  if (s.contentType) headers['content-type'] = s.contentType;
  const to = messages[messages.length - 1]?.offset ?? s.currentOffset;
  headers[H.nextOffset] = to;
  if (live === 'long-poll') headers[H.cursor] = generateResponseCursor(cursor);
  if (upToDate) headers[H.upToDate] = 'true';
  const now = store.get(key);
  const closedHere = !!now?.closed && to === now.currentOffset && upToDate;
  if (closedHere) headers[H.closed] = 'true';
  const tag = etag(req.path, from, to, closedHere);
  headers.etag = tag;
  if (req.headers['if-none-match'] === tag) return { status: 304, headers: { etag: tag } };
  let body: Uint8Array = store.formatResponse(key, messages);
  if (body.length >= COMPRESS_MIN_BYTES && /\bgzip\b/i.test(req.headers['accept-encoding'] ?? '')) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
    headers.vary = 'accept-encoding';
  }
  return { status: 200, headers, body };
}

/** SSE: `data` events (base64 for binary streams) each followed by a `control` event with the offset. */
async function sse(
  store: StreamStore,
  key: string,
  s: Stream,
  start: string,
  cursor: string | undefined,
  res: HttpStream,
  o: ReadOptions,
): Promise<void> {
  const ct = (s.contentType ?? '').toLowerCase().split(';')[0]!.trim();
  const base64 = !(ct.startsWith('text/') || ct === 'application/json');
  const json = isJsonType(s.contentType);
  const headers: Record<string, string> = {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
  };
  if (base64) headers[H.sseDataEncoding] = 'base64';
  res.writeHead(200, headers);
  // Backpressure: a reader slower than the stream is not fed faster than its socket drains (the
  // view keeps the data, so waiting costs nothing; one drain and one close listener per response).
  let drained: (() => void) | undefined;
  const release = () => {
    drained?.();
    drained = undefined;
  };
  res.onDrain(release);
  res.onClose(release);
  const send = async (chunk: string) => {
    if (!res.write(chunk) && !res.closed) await new Promise<void>((resolve) => (drained = resolve));
  };
  o.sse?.(1);
  res.onClose(() => o.sse?.(-1));
  const decoder = new TextDecoder();
  const control = (data: Record<string, string | boolean>) =>
    `event: control\n${sseData(JSON.stringify(data))}`;
  const closedControl = (offset: string) => control({ streamNextOffset: offset, streamClosed: true });
  let offset = start;
  while (!res.closed) {
    const current = store.get(key);
    if (!current) break;
    const { messages, upToDate } = store.read(key, offset);
    store.touchAccess(key);
    let chunk = '';
    for (const m of messages) {
      const payload = base64
        ? Buffer.from(m.data).toString('base64')
        : json
          ? decoder.decode(store.formatResponse(key, [m]))
          : decoder.decode(m.data);
      chunk += `event: data\n${sseData(payload)}`;
      offset = m.offset;
      // The protocol pairs every data event with a control event carrying its offset.
      const atTail = offset === current.currentOffset;
      if (!(atTail && current.closed))
        chunk += control({
          streamNextOffset: offset,
          streamCursor: generateResponseCursor(cursor),
          ...(atTail && upToDate ? { upToDate: true } : {}),
        });
    }
    const tail = current.currentOffset;
    // Nothing new: the position is the tail (never `-1`), as a catch-up GET would say.
    if (messages.length === 0) offset = tail;
    if (current.closed && offset === tail) {
      res.end(chunk + closedControl(offset));
      return;
    }
    if (messages.length === 0)
      chunk += control({
        streamNextOffset: offset,
        streamCursor: generateResponseCursor(cursor),
        upToDate: true,
      });
    await send(chunk);
    if (!upToDate) continue;
    const r = await store.waitForMessages(key, offset, o.longPollMs);
    store.touchAccess(key);
    if (res.closed) return;
    if (r.streamClosed && r.messages.length === 0) {
      res.end(closedControl(offset));
      return;
    }
    if (r.timedOut) {
      if (store.get(key)?.closed) {
        res.end(closedControl(offset));
        return;
      }
      await send(
        control({ streamNextOffset: offset, streamCursor: generateResponseCursor(cursor), upToDate: true }),
      );
    }
  }
  res.end();
}
