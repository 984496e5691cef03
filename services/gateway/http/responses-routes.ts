import {
  type ErrorBody,
  errorBody,
  InputFrame,
  MessageFrame,
  type SessionEvent,
  SessionOptions,
  type SessionRecord,
  StartFrame,
} from '../../../shared/protocol/index.js';
import { newSessionId, type Principal } from '../session/session-service.js';
import type { HttpRequestInfo, HttpResult, HttpStream, StreamingHttpRoute } from '../transport/connection.js';
import { modelNotFound } from './agents-routes.js';
import {
  expiryOf,
  followOverHttp,
  type HttpStreamingDeps,
  type Rendered,
  sseHeaders,
} from './http-session-stream.js';
import { openAiError, parseOpenAiBody } from './openai-http.js';
import { type ResponseContext, ResponseProjection, type ResponsesEvent } from './responses-events.js';
import {
  parseResponseId,
  ResponseCreateRequest,
  type ResponseRef,
  ResponseRetrieveQuery,
  resolveResponsesAgent,
  responseIdOf,
  responseInputOf,
  segmentStarts,
} from './responses-schema.js';

/** A refused request: the typed error and the request parameter it is about (OpenAI's `param`). */
type Failure = { ok: false; error: ErrorBody; param: string | null };
const failed = (error: ErrorBody, param: string | null = null): Failure => ({ ok: false, error, param });
const bad = (message: string, param: string | null) => failed(errorBody('invalid_argument', message), param);
const answer = (f: Failure) => openAiError(f.error, f.param);

function json(status: number, body: unknown): HttpResult {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** One Responses event as SSE; `id` is its sequence number (what `starting_after` takes). */
function sse(e: ResponsesEvent): string {
  return `id: ${e.sequence_number}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** The context of a response read back from the log: all of it is derivable from the log and record. */
function contextOf(ref: ResponseRef, record: SessionRecord, events: SessionEvent[]): ResponseContext {
  const previous = segmentStarts(events)
    .filter((s) => s < ref.startSeq)
    .at(-1);
  return {
    id: responseIdOf(ref),
    startSeq: ref.startSeq,
    model: record.agent,
    instructions: record.options?.systemPrompt ?? null,
    previousResponseId: previous === undefined ? null : responseIdOf({ sid: ref.sid, startSeq: previous }),
  };
}

/**
 * Follows a response over an HTTP answer: a stream of Responses events after `startingAfter`, or
 * (not streaming) one response object once the response ended. Same path as every HTTP door:
 * catch-up from the log at the segment's start, then live; backpressure pauses the session.
 */
function follow(
  deps: HttpStreamingDeps,
  p: Principal,
  ref: ResponseRef,
  projection: ResponseProjection,
  res: HttpStream,
  o: { stream: boolean; startingAfter: number },
): void {
  const render = (_seq: number, data: string): Rendered => {
    const events = projection.apply(JSON.parse(data) as SessionEvent);
    if (!o.stream) return projection.ended ? { respond: json(200, projection.response()) } : {};
    const chunk = events
      .filter((e) => e.sequence_number > o.startingAfter)
      .map(sse)
      .join('');
    return chunk ? { chunk, end: projection.ended } : { end: projection.ended };
  };
  const fail = (error: ErrorBody): Rendered =>
    o.stream ? { chunk: sse(projection.errorEvent(error)), end: true } : { respond: openAiError(error) };
  const endWith = followOverHttp(deps, p.tenant, ref.sid, ref.startSeq - 1, res, render, fail);
  deps.streams.add(res, o.stream ? 'sse' : 'pending', expiryOf(p, endWith));
}

/** Reads a response's session: its owner record, log and the projection of the segment so far. */
async function load(deps: HttpStreamingDeps, p: Principal, id: string) {
  const ref = parseResponseId(id);
  if (!ref) return failed(errorBody('not_found', `no response ${id.slice(0, 100)}`), 'response_id');
  const r = await deps.sessions.events(p, ref.sid);
  if (!r.ok)
    return failed(r.error.code === 'not_found' ? errorBody('not_found', `no response ${id}`) : r.error);
  const { record, events } = r.value;
  if (!segmentStarts(events).includes(ref.startSeq))
    return failed(errorBody('not_found', `no response ${id}`), 'response_id');
  const ctx = contextOf(ref, record, events);
  const projection = new ResponseProjection(ctx);
  for (const ev of events) projection.apply(ev);
  return { ok: true as const, ref, record, events, ctx, projection };
}

/** The response id in `/v1/responses/<id>[/cancel]`. */
const idOf = (req: HttpRequestInfo) => decodeURIComponent(req.path.split('/')[3] ?? '');

/**
 * Starts what a create asks for: a new session (turn 1), a follow-up turn of the session of
 * `previous_response_id`, or the answer to the agent's question (a `function_call_output`).
 */
async function begin(
  deps: HttpStreamingDeps,
  p: Principal,
  body: ResponseCreateRequest,
  agent: string,
): Promise<{ ok: true; ctx: ResponseContext } | Failure> {
  const input = responseInputOf(body.input, body.instructions);
  if ('error' in input) return bad(input.error, input.param);
  if (!body.previous_response_id) {
    if (input.kind === 'answer')
      return bad(
        'a function_call_output answers a previous response: set previous_response_id',
        'previous_response_id',
      );
    const options = SessionOptions.safeParse({
      ...(body.max_output_tokens != null ? { maxTokens: body.max_output_tokens } : {}),
      ...(body.temperature != null ? { temperature: body.temperature } : {}),
      ...(input.systemPrompt !== undefined ? { systemPrompt: input.systemPrompt } : {}),
      ...body.streamfabric,
    });
    if (!options.success) return bad(`streamfabric: ${options.error.issues[0]?.message}`, 'streamfabric');
    const frame = StartFrame.safeParse({
      type: 'start',
      sid: newSessionId(),
      agent,
      input: input.input,
      options: options.data,
    });
    if (!frame.success) return bad(`input: ${frame.error.issues[0]?.message}`, 'input');
    const started = await deps.sessions.start(p, frame.data);
    if (!started.ok) return failed(started.error);
    const ref = { sid: started.value.sid, startSeq: 1 };
    const ctx = { id: responseIdOf(ref), startSeq: 1, model: agent, previousResponseId: null };
    return { ok: true, ctx: { ...ctx, instructions: input.systemPrompt ?? null } };
  }
  // A follow-up continues the session's latest response only: the log is one line, not a tree.
  const prev = await load(deps, p, body.previous_response_id);
  if (!prev.ok) return { ...prev, param: 'previous_response_id' };
  if (prev.record.agent !== agent)
    return bad(`previous response was made by model "${prev.record.agent}"`, 'model');
  if (segmentStarts(prev.events).at(-1) !== prev.ref.startSeq)
    return bad(
      'previous_response_id must name the latest response of its conversation',
      'previous_response_id',
    );
  const sid = prev.ref.sid;
  let startSeq: number;
  if (input.kind === 'answer') {
    const f = InputFrame.safeParse({ type: 'input', sid, requestId: input.callId, text: input.text });
    if (!f.success) return bad(`input: ${f.error.issues[0]?.message}`, 'input');
    const r = await deps.sessions.input(p, f.data);
    if (!r.ok) return failed(r.error, 'input');
    startSeq = r.value.seq;
  } else {
    const f = MessageFrame.safeParse({ type: 'message', sid, text: input.input });
    if (!f.success) return bad(`input: ${f.error.issues[0]?.message}`, 'input');
    const r = await deps.sessions.message(p, f.data);
    if (!r.ok) return failed(r.error, r.error.code === 'busy' ? 'previous_response_id' : null);
    startSeq = r.value.seq;
  }
  const ref = { sid, startSeq };
  return {
    ok: true,
    ctx: {
      id: responseIdOf(ref),
      startSeq,
      model: agent,
      instructions: prev.ctx.instructions,
      previousResponseId: prev.ctx.id,
    },
  };
}

/**
 * The Responses API door (`/v1/responses`), a view of sessions like chat completions: `model`
 * selects the agent, a response is one segment of a session's log (see responses-schema.ts), and
 * every streamed event's `sequence_number` is a log position (responses-events.ts), so a stream
 * resumes on any gateway with `GET /v1/responses/{id}?stream=true&starting_after=n`.
 */
export function responsesRoutes(deps: HttpStreamingDeps) {
  /** `POST /v1/responses`. */
  const create: StreamingHttpRoute = async (req, res) => {
    const parsed = parseOpenAiBody(req, ResponseCreateRequest);
    if (!parsed.ok) return res.respond(parsed.result);
    const body = parsed.data;
    // An unknown model is OpenAI's 404 at once, as on chat completions (the agent directory).
    const notFound = deps.agents ? await modelNotFound(deps.agents, body.model) : null;
    if (notFound) return res.respond(notFound);
    const agent = resolveResponsesAgent(body.model);
    if (!agent)
      return res.respond(
        openAiError(errorBody('invalid_argument', `model "${body.model}" names no agent`), 'model'),
      );
    const p = deps.principal(req);
    const begun = await begin(deps, p, body, agent);
    if (res.closed) return;
    if (!begun.ok) return res.respond(answer(begun));
    const { ctx } = begun;
    const ref = { sid: parseResponseId(ctx.id)!.sid, startSeq: ctx.startSeq };
    const projection = new ResponseProjection(ctx);
    const stream = body.stream === true;
    // Every response runs to its end without its client (the log is the buffer, and a gateway may
    // die under any stream); `background` only decides whether a non-streamed create waits for it.
    if (!stream && body.background === true) return res.respond(json(200, projection.response()));
    if (stream) res.writeHead(200, sseHeaders(ref.sid));
    follow(deps, p, ref, projection, res, { stream, startingAfter: -1 });
  };

  /** `GET /v1/responses/{id}`: the response object, or with `stream=true` its events after `starting_after`. */
  const retrieve: StreamingHttpRoute = async (req, res) => {
    const q = ResponseRetrieveQuery.safeParse(Object.fromEntries(req.query));
    if (!q.success) {
      const param = String(q.error.issues[0]?.path[0] ?? 'query');
      return res.respond(
        openAiError(errorBody('invalid_argument', `${param}: ${q.error.issues[0]?.message}`), param),
      );
    }
    const p = deps.principal(req);
    const loaded = await load(deps, p, idOf(req));
    if (res.closed) return;
    if (!loaded.ok) return res.respond(answer(loaded));
    if (q.data.stream !== 'true') return res.respond(json(200, loaded.projection.response()));
    res.writeHead(200, sseHeaders(loaded.ref.sid));
    const fresh = new ResponseProjection(loaded.ctx);
    follow(deps, p, loaded.ref, fresh, res, { stream: true, startingAfter: q.data.starting_after ?? -1 });
  };

  /** `POST /v1/responses/{id}/cancel`: stops the model call (the `cancel` frame) and answers with the ended response. */
  const cancel: StreamingHttpRoute = async (req, res) => {
    const p = deps.principal(req);
    const loaded = await load(deps, p, idOf(req));
    if (res.closed) return;
    if (!loaded.ok) return res.respond(answer(loaded));
    if (loaded.projection.ended) return res.respond(json(200, loaded.projection.response()));
    const r = await deps.sessions.cancel(p, loaded.ref.sid, 'cancelled via the Responses API');
    if (!r.ok) return res.respond(openAiError(r.error));
    follow(deps, p, loaded.ref, new ResponseProjection(loaded.ctx), res, {
      stream: false,
      startingAfter: -1,
    });
  };

  /** `DELETE /v1/responses/{id}`: deletes the conversation the response belongs to (its session). */
  const remove = async (req: HttpRequestInfo): Promise<HttpResult> => {
    const id = idOf(req);
    const ref = parseResponseId(id);
    if (!ref) return openAiError(errorBody('not_found', `no response ${id.slice(0, 100)}`), 'response_id');
    const r = await deps.sessions.delete(deps.principal(req), ref.sid);
    if (!r.ok) return openAiError(r.error);
    return json(200, { id, object: 'response', deleted: true });
  };

  return { create, retrieve, cancel, remove };
}
