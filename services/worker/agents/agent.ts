import type { Logger } from '../../../shared/logging/logger.js';
import type { ErrorBody, Job } from '../../../shared/protocol/index.js';

/** What an agent produces, in order. The publish layer turns these into session events. */
export type AgentOutput =
  /** Model output text; `count` model tokens (default 1), `index` the last one's position. */
  | { kind: 'token'; text: string; agent?: string; index?: number; count?: number }
  | { kind: 'message'; agent: string; text: string; role?: 'assistant' | 'user' | 'system' | 'tool' }
  | { kind: 'tool_call'; id: string; name: string; arguments: string; agent?: string }
  | { kind: 'tool_result'; id: string; name?: string; result: string; isError?: boolean; agent?: string }
  | { kind: 'usage'; promptTokens: number; completionTokens: number; totalTokens: number }
  | { kind: 'finish'; reason: string }
  | { kind: 'error'; error: ErrorBody };

/** Where a redelivered job picks up: what the log already holds of the interrupted attempt. */
export interface ResumePoint {
  /** Index of the last model token already in the log, when token events carry indexes. */
  lastTokenIndex?: number;
}

export interface AgentContext {
  job: Job;
  /** Aborted on cancel, on timeout, and when the writer is fenced. */
  signal: AbortSignal;
  log: Logger;
  /** Set when this run continues an interrupted attempt (only for agents with `canContinue`). */
  resumeFrom?: ResumePoint;
}

/**
 * An agent: a technology adapter (built-in model, OpenAI-compatible API, ...) behind one
 * interface. It yields outputs and returns when the turn is over; it must stop promptly
 * when `signal` aborts.
 */
export interface Agent {
  readonly name: string;
  /** True when a new worker can continue a lost attempt exactly where the log ends. */
  readonly canContinue: boolean;
  run(ctx: AgentContext): AsyncIterable<AgentOutput>;
}
