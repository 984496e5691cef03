import { Counter, Gauge, type Registry } from 'prom-client';
import type { Principal } from '../../auth/principal.js';
import type {
  HttpRequestInfo,
  HttpResult,
  HttpStream,
  StreamingHttpRoute,
} from '../../transport/connection.js';
import { withHeaders } from '../../transport/with-headers.js';
import { dsError, SECURITY_HEADERS } from './ds-protocol.js';
import { head, read } from './ds-read.js';
import { type Parsed, parseAppend, parseCreate } from './ds-requests.js';
import type { DurableStreamsView } from './ds-view.js';

/** URL prefix of general streams: `/v1/stream/<name…>` (the path the conformance suite uses). */
export const DS_PREFIX = '/v1/stream/';

export interface DurableStreamsDeps {
  view: DurableStreamsView;
  principal: (req: HttpRequestInfo) => Principal;
  longPollMs: number;
  registry: Registry;
}

/**
 * The Durable Streams door for general streams: PUT create, POST append/close, DELETE, HEAD and
 * GET (catch-up, long-poll, SSE). Mutations go through the command log; reads are answered from
 * this gateway's view once it holds everything logged before the request. A tenant's streams live
 * under its own names: two tenants can both own `/v1/stream/chat`.
 */
export function durableStreamsRoute(d: DurableStreamsDeps): StreamingHttpRoute {
  const requests = new Counter({
    name: 'streamfabric_gateway_ds_requests_total',
    help: 'Durable Streams HTTP requests, by method and status code',
    labelNames: ['method', 'status'] as const,
    registers: [d.registry],
  });
  let open = 0;
  new Gauge({
    name: 'streamfabric_gateway_ds_sse_streams',
    help: 'Durable Streams SSE responses open on this gateway',
    registers: [d.registry],
    collect() {
      this.set(open);
    },
  });
  const readOptions = { longPollMs: d.longPollMs, sse: (delta: 1 | -1) => (open += delta) };

  return async (req, raw) => {
    const res = counted(withHeaders(raw, SECURITY_HEADERS), (status) =>
      requests.inc({ method: req.method, status: String(status) }),
    );
    const tenant = d.principal(req).tenant;
    // The view's key of a stream: its URL path inside the tenant's namespace.
    const key = (path: string) => `${tenant}:${path}`;
    const mutate = async (parsed: Parsed) => {
      if ('answer' in parsed) return res.respond(parsed.answer);
      const result = await d.view.submit(tenant, parsed.cmd, req.body);
      res.respond(withLocation(result, req));
    };
    switch (req.method) {
      case 'put':
        return mutate(parseCreate(req, key));
      case 'post':
        return mutate(parseAppend(req, key));
      case 'delete':
        return mutate({ cmd: { op: 'delete', path: key(req.path) } });
      case 'head':
      case 'get':
        if (!(await d.view.catchUp()))
          return res.respond(dsError(503, 'The stream log did not answer in time'));
        if (req.method === 'head') return res.respond(head(d.view.store, key(req.path), req.path));
        return read(d.view.store, key(req.path), req, res, readOptions);
      case 'options':
        return res.respond({ status: 204 });
      default:
        return res.respond(
          dsError(405, 'Method not allowed', { allow: 'GET, HEAD, POST, PUT, DELETE, OPTIONS' }),
        );
    }
  };
}

/** 201 Created names the new stream as this gateway was asked for it. */
function withLocation(r: HttpResult, req: HttpRequestInfo): HttpResult {
  if (r.status !== 201 || !req.headers.host) return r;
  return { ...r, headers: { ...r.headers, location: `http://${req.headers.host}${req.path}` } };
}

/** The same stream, reporting the status it answered with once. */
function counted(res: HttpStream, onStatus: (status: number) => void): HttpStream {
  return {
    get closed() {
      return res.closed;
    },
    writeHead: (status, headers) => {
      onStatus(status);
      res.writeHead(status, headers);
    },
    write: (chunk) => res.write(chunk),
    end: (chunk) => res.end(chunk),
    respond: (r) => {
      onStatus(r.status);
      res.respond(r);
    },
    onDrain: (cb) => res.onDrain(cb),
    onClose: (cb) => res.onClose(cb),
  };
}
