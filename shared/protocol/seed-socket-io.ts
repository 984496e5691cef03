import { z } from 'zod';
import { SessionId } from './ids.js';
import { SessionOptions } from './options.js';

/**
 * The seed's Socket.IO API (the Flask-SocketIO "AutoGen Streaming Interface"), kept so its
 * clients work unchanged against any gateway. Field names are the seed's (snake_case); only the
 * additions marked "fabric" are new, and a seed client never needs them.
 */

/** `start_stream`: the seed's `{agent_type, message}` plus its optional stream settings. */
export const StartStreamRequest = z.object({
  /** The seed's agent kinds (`assistant`, `user_proxy`); mapped to fabric agents by SOCKETIO_AGENTS. */
  agent_type: z.string().min(1).max(64),
  message: z.string(),
  /** The seed's per-stream LLM settings: `temperature` and `max_tokens` are honoured. */
  agent_config: z
    .object({
      temperature: z.number().min(0).max(2).optional(),
      max_tokens: z.number().int().min(1).max(1_000_000).optional(),
    })
    .passthrough()
    .optional(),
  /** The seed's token buffer: flush when this many tokens wait. */
  buffer_size: z.number().int().min(1).max(10_000).optional(),
  /** The seed's flush interval, in seconds (0.1 = 100 ms). */
  flush_interval: z.number().min(0).max(10).optional(),
  /** Fabric: any session option (e.g. the built-in model's `seed`, `length`, `tokensPerSecond`). */
  options: SessionOptions.optional(),
});
export type StartStreamRequest = z.infer<typeof StartStreamRequest>;

/**
 * Fabric: `resume_stream` follows a session again after `position` (the `position` of the last
 * `stream_event` the client holds; 0 = from the start), on any gateway.
 */
export const ResumeStreamRequest = z.object({
  session_id: SessionId,
  position: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});
export type ResumeStreamRequest = z.infer<typeof ResumeStreamRequest>;

/** `stream_event` with `type: "token"`: exactly the seed's fields. */
export interface SeedTokenEvent {
  type: 'token';
  session_id: string;
  /** The text of one stream event (the fabric may coalesce several model tokens into it). */
  token: string;
  /** Where this event sits in the session's log: increasing, the value `resume_stream` takes. */
  position: number;
  /** ISO 8601, as the seed's `datetime.isoformat()`. */
  timestamp: string;
  metadata: Record<string, unknown>;
}

/** `stream_event` and `stream_completed` with `type: "completion"`. */
export interface SeedCompletionEvent {
  type: 'completion';
  session_id: string;
  total_tokens: number;
  /** Seconds. */
  duration: number;
  timestamp: string;
  /** Fabric: the completion's own position, for `resume_stream`. */
  position: number;
}

/** `stream_event` and `stream_error` with `type: "error"`; `error` is the seed's message string. */
export interface SeedErrorEvent {
  type: 'error';
  session_id: string;
  error: string;
  timestamp: string;
  /** Fabric: the typed error's code and whether retrying may succeed. */
  code: string;
  retryable: boolean;
  position: number;
}

/** The `error` event: the seed's `{error}` plus the typed error's `code` and `retryable`. */
export interface SeedErrorReply {
  error: string;
  code: string;
  retryable: boolean;
}
