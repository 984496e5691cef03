import { z } from 'zod';
import { errorBody, isTerminal, SessionId } from '../../../shared/protocol/index.js';
import type { StreamingHttpRoute } from '../transport/connection.js';
import {
  errorResult,
  expiryOf,
  followOverHttp,
  type HttpStreamingDeps,
  sseHeaders,
} from './http-session-stream.js';

const Position = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The session id in `/v1/sessions/<sid>/events`. */
function sidOf(path: string): string | undefined {
  return path.split('/')[3];
}

/**
 * `GET /v1/sessions/:sid/events`: a session's events as Server-Sent Events, for clients without
 * WebSockets (EventSource, curl). Each event is `id: <seq>` + `data: <event JSON>`; the stream
 * starts after `Last-Event-ID` (what EventSource sends when it reconnects), else after `?after=`,
 * else from the first event. After the turn's terminal event comes `event: end` and the response
 * ends (call `EventSource.close()` on it, or EventSource would reconnect). Heartbeats are comments.
 * `?snapshot=1` (without `Last-Event-ID`) opens a long conversation from its snapshot: first
 * `event: conversation` with `id: <seq it covers>` and the folded conversation as data, then the
 * events from that seq + 1 (a reconnect continues from that id like any other).
 */
export function sessionEventsRoute(deps: HttpStreamingDeps): StreamingHttpRoute {
  return async (req, res) => {
    const sid = SessionId.safeParse(sidOf(req.path));
    if (!sid.success) return res.respond(errorResult(errorBody('invalid_argument', 'invalid session id')));
    const raw = req.headers['last-event-id'] || req.query.get('after') || '0';
    const after = Position.safeParse(raw);
    if (!after.success) {
      return res.respond(errorResult(errorBody('invalid_argument', `bad position "${raw.slice(0, 40)}"`)));
    }
    const p = deps.principal(req);
    const auth = await deps.sessions.authorizeResume(p, sid.data, after.data);
    if (res.closed) return;
    if (!auth.ok) return res.respond(errorResult(auth.error));
    const wantsSnapshot = req.query.get('snapshot') === '1' && !req.headers['last-event-id'];
    const snap = wantsSnapshot ? await deps.sessions.resumeSnapshot(p, sid.data, after.data) : null;
    if (res.closed) return;
    const from = snap?.seq ?? after.data;
    const head = snap
      ? `id: ${snap.seq}\nevent: conversation\ndata: ${JSON.stringify(snap.conversation)}\n\n`
      : '';
    const endFrame = (lastSeq: number) =>
      `event: end\ndata: ${JSON.stringify({ sid: sid.data, lastSeq })}\n\n`;
    res.writeHead(200, sseHeaders(sid.data));
    // `retry` tunes EventSource's reconnect delay; the comment flushes headers at once.
    if (auth.value.finished && from >= auth.value.lastSeq) {
      return res.end(`retry: 1000\n: up to date\n\n${head}${endFrame(from)}`);
    }
    res.write(`retry: 1000\n: after ${from}, last stored ${auth.value.lastSeq}\n\n${head}`);
    const endWith = followOverHttp(
      deps,
      p.tenant,
      sid.data,
      from,
      res,
      (seq, json) => {
        const chunk = `id: ${seq}\ndata: ${json}\n\n`;
        return isTerminal(JSON.parse(json)) ? { chunk: chunk + endFrame(seq), end: true } : { chunk };
      },
      (error) => ({ chunk: `event: error\ndata: ${JSON.stringify({ error })}\n\n` }),
    );
    deps.streams.add(res, 'sse', expiryOf(p, endWith));
  };
}
