import { generateResponseCursor } from '@durable-streams/server';
import { errorBody, SessionId } from '../../../../shared/protocol/index.js';
import type { EventSink } from '../../fanout/event-sink.js';
import type { HttpResult, StreamingHttpRoute } from '../../transport/connection.js';
import { withHeaders } from '../../transport/with-headers.js';
import { errorResult, type HttpStreamingDeps } from '../http-session-stream.js';
import { dsError, H, READ_OFFSET, SECURITY_HEADERS, sseData } from './ds-protocol.js';

/** URL of a session as a read-only Durable Stream: `/v1/ds/sessions/<sid>`. */
export const DS_SESSIONS_PREFIX = '/v1/ds/sessions/';

/** Most events one catch-up response carries; the client asks again from its new offset. */
const MAX_BATCH = 1000;

/** A session's position as a Durable Streams offset: the event `seq` in the byte-offset slot. */
export function sessionOffset(seq: number): string {
  return `0000000000000000_${String(seq).padStart(16, '0')}`;
}

/** The seq an offset stands for (`-1` = before the first event); undefined if it is not ours. */
function seqOf(offset: string): number | undefined {
  if (offset === '-1') return 0;
  const m = /^\d+_(\d+)$/.exec(offset);
  const n = m ? Number(m[1]) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Events collected from the session's subscription (the same path as WebSocket clients). */
interface Collected {
  events: { seq: number; json: string }[];
  failed?: string;
}

const decoder = new TextDecoder();

/**
 * The fabric's sessions, read-only, in Durable Streams JSON mode: one message per event, offsets
 * that map to `seq`, from the same EVENTS log and fan-out as every other door, so a reader may
 * move between gateways and doors with the same position. A session stream is never closed (a
 * conversation can take another turn): readers stop at the turn's terminal event.
 */
export function durableSessionsRoute(deps: HttpStreamingDeps & { longPollMs: number }): StreamingHttpRoute {
  return async (req, res0) => {
    const res = withHeaders(res0, SECURITY_HEADERS);
    const respond = (r: HttpResult) => res.respond(r);
    if (req.method === 'options') return respond({ status: 204 });
    if (req.method !== 'get' && req.method !== 'head')
      return respond(dsError(405, 'Session streams are read-only', { allow: 'GET, HEAD, OPTIONS' }));
    const sid = SessionId.safeParse(req.path.slice(DS_SESSIONS_PREFIX.length));
    if (!sid.success) return respond(errorResult(errorBody('invalid_argument', 'invalid session id')));
    const offset = req.query.get('offset') ?? '-1';
    const live = req.query.get('live');
    if (!READ_OFFSET.test(offset)) return respond(dsError(400, 'Invalid offset format'));
    const p = deps.principal(req);
    const known = await deps.sessions.authorizeResume(
      p,
      sid.data,
      offset === 'now' ? 0 : (seqOf(offset) ?? 0),
    );
    if (res.closed) return;
    if (!known.ok) return respond(errorResult(known.error));
    const last = known.value.lastSeq;
    const after = offset === 'now' ? last : seqOf(offset)!;
    const base = { 'content-type': 'application/json' };
    if (req.method === 'head')
      return respond({
        status: 200,
        headers: { ...base, [H.nextOffset]: sessionOffset(last), 'cache-control': 'no-store' },
      });
    const collect = (until: number | undefined, timeoutMs: number) =>
      collectEvents(deps, p.tenant, sid.data, after, until, timeoutMs);
    const cursor = req.query.get('cursor') ?? undefined;
    if (live === 'sse') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        ...SECURITY_HEADERS,
      });
      const control = (seq: number) =>
        `event: control\n${sseData(
          JSON.stringify({
            streamNextOffset: sessionOffset(seq),
            streamCursor: generateResponseCursor(cursor),
            ...(seq >= last ? { upToDate: true } : {}),
          }),
        )}`;
      if (after >= last) res.write(control(after));
      const sink: EventSink = {
        get closed() {
          return res.closed;
        },
        get writable() {
          return !res.closed;
        },
        send: (data, seq) => {
          return res.write(`event: data\n${sseData(`[${decoder.decode(data)}]`)}${control(seq)}`);
        },
        fail: () => res.end(),
      };
      const sub = deps.hub.subscribe(p.tenant, sid.data, after, sink);
      res.onDrain(() => sub.resume());
      res.onClose(() => deps.hub.unsubscribe(p.tenant, sub));
      deps.streams.add(res, 'sse');
      return;
    }
    const waitLive = live === 'long-poll' && after >= last;
    const got = waitLive
      ? await collect(undefined, deps.longPollMs)
      : after >= last
        ? { events: [] }
        : await collect(last, 30_000);
    if (res.closed) return;
    if (got.failed) return respond(errorResult(errorBody('unavailable', got.failed)));
    const next = got.events.at(-1)?.seq ?? after;
    const headers: Record<string, string> = { ...base, [H.nextOffset]: sessionOffset(next) };
    if (next >= last || waitLive) headers[H.upToDate] = 'true';
    if (live === 'long-poll') headers[H.cursor] = generateResponseCursor(cursor);
    if (waitLive && got.events.length === 0) return respond({ status: 204, headers });
    respond({ status: 200, headers, body: `[${got.events.map((e) => e.json).join(',')}]` });
  };
}

/**
 * Subscribes after `after` and collects events: up to seq `until` (catch-up), or whatever arrives
 * first (long-poll, `until` undefined), at most {@link MAX_BATCH}, for at most `timeoutMs`.
 */
function collectEvents(
  deps: HttpStreamingDeps,
  tenant: string,
  sid: string,
  after: number,
  until: number | undefined,
  timeoutMs: number,
): Promise<Collected> {
  return new Promise((resolve) => {
    const out: Collected = { events: [] };
    let done = false;
    let flush: NodeJS.Immediate | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (flush) clearImmediate(flush);
      deps.hub.unsubscribe(tenant, sub);
      resolve(out);
    };
    const sink: EventSink = {
      get closed() {
        return done;
      },
      get writable() {
        return !done;
      },
      send: (data, seq) => {
        if (done) return false;
        out.events.push({ seq, json: decoder.decode(data) });
        if ((until !== undefined && seq >= until) || out.events.length >= MAX_BATCH) finish();
        // Long-poll: answer with what arrived together, one tick after the first event.
        else if (until === undefined) flush ??= setImmediate(finish);
        return !done;
      },
      fail: (_sid, _code, message) => {
        out.failed = message;
        finish();
      },
    };
    const timer = setTimeout(finish, timeoutMs);
    const sub = deps.hub.subscribe(tenant, sid, after, sink);
  });
}
