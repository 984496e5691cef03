import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  chunkJson,
  FAKE_MODEL_FINGERPRINT,
  type FakeRequest,
  type FakeScenario,
} from './fake-openai-wire.js';

export type { FakeRequest, FakeScenario } from './fake-openai-wire.js';

/**
 * A local OpenAI-compatible Chat Completions server for tests, on plain node:http. It streams
 * SSE `chat.completion.chunk`s exactly as OpenAI does (`data: {...}\n\n`, then `data: [DONE]`),
 * with tool calls and a usage chunk, and injects faults on request: an HTTP error status with
 * `retry-after`, a delay before the first byte, slow tokens, a stream cut or stalled mid-way.
 * It records every request it got and whether the client hung up before the answer ended.
 *
 * Answers are chosen by the prompt (the last user message): `script(prompt, ...attempts)` makes
 * the n-th request for that prompt play `attempts[n]` (the last one repeats); other prompts get
 * `echo: <prompt>` word by word.
 */
export class FakeOpenAi {
  readonly requests: FakeRequest[] = [];
  private readonly scripts = new Map<string, FakeScenario[]>();
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeOpenAi> {
    let self: FakeOpenAi | null = null;
    const server = createServer((req, res) => void self?.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new FakeOpenAi(server, (server.address() as AddressInfo).port);
    return self;
  }

  /** The base URL to give the SDK (`OPENAI_BASE_URL`). */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  script(prompt: string, ...attempts: FakeScenario[]): void {
    this.scripts.set(prompt, attempts);
  }

  /** The requests whose last user message was `prompt`, in arrival order. */
  requestsFor(prompt: string): FakeRequest[] {
    return this.requests.filter((r) => r.prompt === prompt);
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      return sendError(res, 404, {
        message: `no route ${req.method} ${req.url}`,
        type: 'invalid_request_error',
      });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, { message: 'body is not JSON', type: 'invalid_request_error' });
    }
    const messages = (body.messages ?? []) as { role: string; content: string }[];
    const prompt = messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
    const attempt = this.requestsFor(prompt).length;
    const record: FakeRequest = {
      prompt,
      attempt,
      body,
      model: body.model as string,
      messages,
      temperature: body.temperature as number | undefined,
      maxTokens: (body.max_tokens ?? body.max_completion_tokens) as number | undefined,
      authorization: req.headers.authorization,
      receivedAt: Date.now(),
      clientClosed: false,
      completed: false,
    };
    this.requests.push(record);
    const attempts = this.scripts.get(prompt);
    const scenario = attempts?.[Math.min(attempt, attempts.length - 1)] ?? {
      tokens: `echo: ${prompt}`.split(/(?= )/),
    };
    this.open.add(res);
    // `close` before the response was fully sent, not caused by our own cut: the client hung up.
    let cutByUs = false;
    let closed = false;
    res.on('error', () => undefined); // writes racing a hang-up are expected here
    res.on('close', () => {
      closed = true;
      this.open.delete(res);
      if (!res.writableFinished && !cutByUs) record.clientClosed = true;
    });
    await play(res, body, scenario, {
      gone: () => closed,
      cut: () => {
        cutByUs = true;
        res.destroy();
      },
    });
    record.completed = res.writableEnded && !cutByUs;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sendError(
  res: ServerResponse,
  status: number,
  error: { message: string; type: string; code?: string },
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { param: null, code: null, ...error } }));
}

/** Writes one scenario's answer, stopping early if the client went away. */
async function play(
  res: ServerResponse,
  body: Record<string, unknown>,
  s: FakeScenario,
  conn: { gone: () => boolean; cut: () => void },
): Promise<void> {
  const { gone, cut } = conn;
  if (s.firstByteDelayMs) await sleep(s.firstByteDelayMs);
  if (gone()) return;
  if (s.status) {
    return sendError(
      res,
      s.status,
      {
        message: s.errorMessage ?? `fake error ${s.status}`,
        type: 'api_error',
        ...(s.errorCode ? { code: s.errorCode } : {}),
      },
      s.headers,
    );
  }
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  const model = String(body.model);
  const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const meta = { id, model, created: Math.floor(Date.now() / 1000), withUsage };
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': `req_${randomBytes(8).toString('hex')}`,
    'openai-model': FAKE_MODEL_FINGERPRINT,
    ...s.headers,
  });
  // Each event is awaited onto the socket, so a cut after n chunks really delivered n chunks.
  const send = (payload: object | '[DONE]') =>
    new Promise<void>((resolve) => {
      if (gone()) return resolve();
      res.write(`data: ${payload === '[DONE]' ? payload : JSON.stringify(payload)}\n\n`, () => resolve());
    });

  await send(chunkJson(meta, { role: 'assistant', content: '', refusal: null }));
  const tokens = s.tokens ?? [];
  for (let i = 0; i < tokens.length; i++) {
    if (s.cutAfterTokens === i) return cut();
    if (s.stallAfterTokens === i) return; // stays open, silent, until the client gives up
    if (s.tokenDelayMs) await sleep(s.tokenDelayMs);
    if (gone()) return;
    await send(chunkJson(meta, { content: tokens[i] }));
  }
  if (s.cutAfterTokens !== undefined && s.cutAfterTokens >= tokens.length) return cut();
  const calls = s.toolCalls ?? [];
  const piece = s.argChunkChars ?? 7;
  for (const [index, call] of calls.entries()) {
    await send(
      chunkJson(meta, {
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    for (let at = 0; at < call.arguments.length; at += piece) {
      if (s.tokenDelayMs) await sleep(s.tokenDelayMs);
      if (gone()) return;
      await send(
        chunkJson(meta, {
          tool_calls: [{ index, function: { arguments: call.arguments.slice(at, at + piece) } }],
        }),
      );
    }
  }
  if (s.endWithoutFinish) return void res.end();
  await send(chunkJson(meta, {}, s.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop')));
  if (withUsage) {
    const prompt = JSON.stringify(body.messages ?? []).length >> 2;
    const completion = tokens.length + calls.reduce((n, c) => n + Math.ceil(c.arguments.length / 4), 0);
    await send(chunkJson(meta, null, null, { prompt, completion }));
  }
  await send('[DONE]');
  res.end();
}
