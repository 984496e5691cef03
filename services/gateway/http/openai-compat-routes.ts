import {
  type ErrorBody,
  errorBody,
  type SessionEvent,
  SessionId,
  SessionOptions,
  type StartFrame,
} from '../../../shared/protocol/index.js';
import { newSessionId } from '../session/session-service.js';
import type { HttpResult, StreamingHttpRoute } from '../transport/connection.js';
import { modelNotFound } from './agents-routes.js';
import {
  expiryOf,
  followOverHttp,
  type HttpStreamingDeps,
  type Rendered,
  sseHeaders,
} from './http-session-stream.js';
import {
  agentOfModel,
  ChatCompletionRequest,
  inputOf,
  optionsOf,
  parseResumeHeader,
} from './openai-compat-schema.js';
import { openAiError, openAiErrorType, parseOpenAiBody } from './openai-http.js';

const FINISH: Record<string, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls' };

/** Per-response state while events are turned into OpenAI chunks (or one completion). */
class CompletionRenderer {
  private text = '';
  private usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null = null;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    private readonly sid: string,
    private readonly model: string,
    private readonly stream: boolean,
    private readonly includeUsage: boolean,
  ) {}

  /** The first chunk of a stream: the assistant role, as OpenAI sends it. */
  roleChunk(): string {
    return this.data({ delta: { role: 'assistant', content: '' }, finish_reason: null }, 0);
  }

  render(seq: number, json: string): Rendered {
    const ev = JSON.parse(json) as SessionEvent;
    switch (ev.type) {
      case 'token':
        this.text += ev.text;
        return this.stream
          ? { chunk: this.data({ delta: { content: ev.text }, finish_reason: null }, seq) }
          : {};
      case 'usage':
        this.usage = {
          prompt_tokens: ev.promptTokens,
          completion_tokens: ev.completionTokens,
          total_tokens: ev.totalTokens,
        };
        return {};
      case 'done':
      case 'cancelled':
        return this.finish(seq, ev.type === 'done' ? (FINISH[ev.finishReason] ?? 'stop') : 'stop');
      case 'error':
        return this.fail(ev.error);
      case 'restart':
        // An agent that cannot continue re-runs from scratch: an append-only OpenAI stream cannot
        // take text back, so say so; the SSE endpoint carries the restart event itself.
        return ev.mode === 'continue'
          ? {}
          : this.fail(
              errorBody(
                'upstream_error',
                `the agent restarted the answer; read GET /v1/sessions/${this.sid}/events`,
              ),
            );
      default:
        return {};
    }
  }

  fail(error: ErrorBody): Rendered {
    if (!this.stream) return { respond: openAiError(error) };
    return {
      chunk: `data: ${JSON.stringify({ error: { ...error, type: openAiErrorType(error) } })}\n\n`,
      end: true,
    };
  }

  private finish(seq: number, reason: string): Rendered {
    if (!this.stream) return { respond: this.completion(reason) };
    let chunk = this.data({ delta: {}, finish_reason: reason }, seq);
    if (this.includeUsage && this.usage) {
      chunk += `data: ${JSON.stringify({ ...this.base(seq), choices: [], usage: this.usage })}\n\n`;
    }
    return { chunk: `${chunk}data: [DONE]\n\n`, end: true };
  }

  private base(seq: number) {
    return {
      id: this.sid,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      /** Our extra: resume after it with `x-streamfabric-resume: <id>:<streamfabric_seq>`. */
      streamfabric_seq: seq,
    };
  }

  private data(choice: Record<string, unknown>, seq: number): string {
    const chunk = { ...this.base(seq), choices: [{ index: 0, ...choice, logprobs: null }] };
    return `${seq > 0 ? `id: ${seq}\n` : ''}data: ${JSON.stringify(chunk)}\n\n`;
  }

  private completion(reason: string): HttpResult {
    const body = {
      id: this.sid,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: this.text, refusal: null },
          finish_reason: reason,
          logprobs: null,
        },
      ],
      usage: this.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-streamfabric-session': this.sid },
      body: JSON.stringify(body),
    };
  }
}

/**
 * `POST /v1/chat/completions`, OpenAI-compatible: point an OpenAI SDK's `baseURL` at a gateway
 * (`http://host:port/v1`) and get a durable stream. `model` selects the agent; the session id is
 * the completion `id` and the `x-streamfabric-session` header. `stream: true` answers with
 * `chat.completion.chunk` events and `data: [DONE]`; otherwise one `chat.completion` JSON.
 * Resume with the header `x-streamfabric-resume: <sid>:<seq>` (seq = `streamfabric_seq` of the
 * last chunk received, or the SSE `id`), or with `GET /v1/sessions/<sid>/events`.
 * Choose the session id with `x-streamfabric-session` to make a retried POST idempotent.
 */
export function chatCompletionsRoute(deps: HttpStreamingDeps): StreamingHttpRoute {
  return async (req, res) => {
    const parsed = parseOpenAiBody(req, ChatCompletionRequest);
    if (!parsed.ok) return res.respond(parsed.result);
    const body = parsed.data;
    // An unknown model is OpenAI's 404 at once, before any stream opens.
    const notFound = deps.agents ? await modelNotFound(deps.agents, body.model) : null;
    if (notFound) return res.respond(notFound);
    const agent = agentOfModel(body.model);
    if (!agent)
      return res.respond(openAiError(errorBody('invalid_argument', `model "${body.model}" names no agent`)));
    const p = deps.principal(req);
    const stream = body.stream === true;

    const resume = parseResumeHeader(req.headers['x-streamfabric-resume']);
    if (resume === 'invalid') {
      return res.respond(
        openAiError(errorBody('invalid_argument', 'x-streamfabric-resume must be <sid>:<seq>')),
      );
    }
    let sid: string;
    let after = 0;
    if (resume) {
      // A non-streamed resume answers with the whole completion, so it replays from the start.
      after = stream ? resume.after : 0;
      const auth = await deps.sessions.authorizeResume(p, resume.sid, after);
      if (!auth.ok) return res.respond(openAiError(auth.error));
      sid = resume.sid;
    } else {
      const chosen = req.headers['x-streamfabric-session'];
      if (chosen !== undefined && !SessionId.safeParse(chosen).success) {
        return res.respond(
          openAiError(errorBody('invalid_argument', 'x-streamfabric-session is not a valid session id')),
        );
      }
      const { input, systemPrompt } = inputOf(body.messages);
      const options = SessionOptions.safeParse(optionsOf(body, systemPrompt));
      if (!options.success) {
        const issue = options.error.issues[0];
        return res.respond(
          openAiError(errorBody('invalid_argument', `options.${issue?.path.join('.')}: ${issue?.message}`)),
        );
      }
      const frame: StartFrame = {
        type: 'start',
        sid: chosen ?? newSessionId(),
        agent,
        input,
        options: options.data,
      };
      const started = await deps.sessions.start(p, frame);
      if (!started.ok) return res.respond(openAiError(started.error));
      sid = started.value.sid;
    }
    if (res.closed) return;

    const renderer = new CompletionRenderer(
      sid,
      body.model,
      stream,
      body.stream_options?.include_usage === true,
    );
    if (stream) {
      res.writeHead(200, sseHeaders(sid));
      res.write(after === 0 ? renderer.roleChunk() : ': resumed\n\n');
    }
    const endWith = followOverHttp(
      deps,
      p.tenant,
      sid,
      after,
      res,
      (seq, j) => renderer.render(seq, j),
      (e) => renderer.fail(e),
    );
    deps.streams.add(res, stream ? 'sse' : 'pending', expiryOf(p, endWith));
  };
}
