import type { z } from 'zod';
import { type ErrorBody, errorBody } from '../../../shared/protocol/index.js';
import type { HttpRequestInfo, HttpResult } from '../transport/connection.js';
import { errorResult, httpStatusOf } from './http-session-stream.js';

/** OpenAI's error `type` for a typed error: client errors are `invalid_request_error`. */
export function openAiErrorType(error: ErrorBody): string {
  return httpStatusOf(error.code) < 500 ? 'invalid_request_error' : 'server_error';
}

/**
 * OpenAI's error shape (`{"error": {message, type, param, code}}`) with our typed fields in it
 * (`code`, `retryable`), so both the OpenAI SDKs and fabric clients read it.
 */
export function openAiError(error: ErrorBody, param: string | null = null): HttpResult {
  return errorResult(error, { type: openAiErrorType(error), param });
}

/** A zod issue path as OpenAI names a parameter: `input[0].content`. */
function paramOf(path: readonly PropertyKey[]): string | null {
  if (path.length === 0) return null;
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i > 0 ? '.' : ''}${String(k)}`)).join('');
}

/**
 * Parses an OpenAI-compatible JSON body with `schema`: the data, or the 400 answer OpenAI gives a
 * malformed body (`invalid_request_error` naming the offending `param`).
 */
export function parseOpenAiBody<S extends z.ZodType>(
  req: HttpRequestInfo,
  schema: S,
): { ok: true; data: z.infer<S> } | { ok: false; result: HttpResult } {
  let json: unknown;
  try {
    json = JSON.parse(req.body.toString('utf8'));
  } catch {
    return { ok: false, result: openAiError(errorBody('bad_frame', 'body is not valid JSON')) };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  const param = paramOf(issue?.path ?? []);
  const message = `${param ?? 'body'}: ${issue?.message ?? 'invalid'}`;
  return { ok: false, result: openAiError(errorBody('invalid_argument', message), param) };
}
