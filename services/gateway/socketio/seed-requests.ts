import { type ErrorBody, errorBody, type SessionOptions } from '../../../shared/protocol/index.js';
import type { SeedErrorReply, StartStreamRequest } from '../../../shared/protocol/seed-socket-io.js';

/** The seed's request side: its error wording, and its stream settings as session options. */

/** An `error` event's payload: the seed's `{error}` message plus the typed error's fields. */
export function reply(error: ErrorBody): SeedErrorReply {
  return { error: error.message, code: error.code, retryable: error.retryable };
}

/** A zod failure in the seed's words ("Missing required field: message"). */
export function invalid(issues: { path: PropertyKey[]; message: string; code: string }[]): ErrorBody {
  const i = issues[0];
  const field = i?.path.map(String).join('.') || 'request';
  return errorBody(
    'invalid_argument',
    i?.code === 'invalid_type' && i.message.includes('undefined')
      ? `Missing required field: ${field}`
      : `${field}: ${i?.message ?? 'invalid'}`,
  );
}

/** The seed's stream settings as fabric session options. */
export function optionsOf(r: StartStreamRequest): SessionOptions | undefined {
  const o: SessionOptions = { ...r.options };
  if (r.buffer_size !== undefined) o.bufferSize = r.buffer_size;
  if (r.flush_interval !== undefined) o.flushIntervalMs = Math.round(r.flush_interval * 1000);
  if (r.agent_config?.temperature !== undefined) o.temperature = r.agent_config.temperature;
  if (r.agent_config?.max_tokens !== undefined) o.maxTokens = r.agent_config.max_tokens;
  return Object.keys(o).length > 0 ? o : undefined;
}
