import { z } from 'zod';
import { CommonConfigShape } from './common-config.js';
import { csv, nonNegativeInt, nonNegativeNumber, positiveInt } from './fields.js';
import { OpenAiConfigShape } from './openai-config.js';

/** Worker settings. */
export const WorkerConfig = z.object({
  ...CommonConfigShape,
  /** Stable id of this worker in logs; random when unset. */
  WORKER_ID: z.string().optional(),
  /** Agents this worker serves, comma separated (builtin, openai). */
  WORKER_AGENTS: csv('builtin'),
  /** Jobs one worker runs at once. */
  WORKER_CONCURRENCY: positiveInt(256, 100_000),
  /** A job not acknowledged (or marked in progress) within this many ms is redelivered to another worker. */
  WORKER_ACK_WAIT_MS: positiveInt(10_000),
  /** Deliveries before a job is declared poison and dead-lettered. */
  WORKER_MAX_DELIVER: positiveInt(5, 100),
  /** A turn running longer than this (ms) is ended with a `timeout` error. */
  STREAM_TIMEOUT: positiveInt(600_000),
  /** Coalescing: tokens buffered before a flush. */
  STREAM_BUFFER_SIZE: positiveInt(32),
  /** Coalescing: longest a token waits in the buffer (ms); 0 = publish each token at once. */
  STREAM_FLUSH_INTERVAL: nonNegativeInt(50),
  /**
   * Adaptive coalescing: how long past its deadline a flush may wait while the session's previous
   * event is still being written (ms): under load, fewer events with more tokens each; idle, no
   * wait. Never the turn's first token. 0 = off.
   */
  STREAM_FLUSH_MAX_HOLD: nonNegativeInt(0),
  /** Pacing: cap on tokens per second per session (0 = no cap). */
  STREAM_MAX_TOKENS_PER_SECOND: nonNegativeNumber(0),
  /**
   * Largest conversation history (estimated tokens, 4 characters each) a turn gives its agent:
   * beyond it the oldest whole turns are left out of the model's view (the log keeps them), so a
   * long chat goes on instead of stopping (docs/conversations.md).
   */
  MAX_HISTORY_TOKENS: positiveInt(100_000),
  /** Default wait for a user's answer to an agent's question (ms) before `input_timeout`. */
  INPUT_TIMEOUT_MS: positiveInt(300_000),
  /** Built-in model: default tokens per second (0 = as fast as possible). */
  BUILTIN_TOKENS_PER_SECOND: nonNegativeNumber(50),
  /** Built-in model: default answer length in tokens. */
  BUILTIN_LENGTH: positiveInt(120, 100_000),
  /** Built-in model: default delay before the first token (ms). */
  BUILTIN_THINK_MS: nonNegativeInt(0),
  /**
   * Test hook (fault injection), unset in production: the worker process dies (SIGKILL) when the
   * built-in agent receives exactly this input, on every delivery, like a job that crashes its
   * worker (a poison job). The security suite uses it to prove WORKER_MAX_DELIVER ends the cycle.
   */
  BUILTIN_FAULT_CRASH_INPUT: z.string().optional(),
  /**
   * Test hook (fault injection), unset in production: when the built-in agent receives exactly this
   * input it throws an Error naming the worker's NATS address and source file (with a stack), as a
   * failing agent would; the security suite proves none of it reaches a client.
   */
  BUILTIN_FAULT_THROW_INPUT: z.string().min(1).optional(),
  /** The `openai` agent (OPENAI_*): see openai-config.ts. */
  ...OpenAiConfigShape,
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;
