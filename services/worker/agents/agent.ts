import type { Logger } from '../../../shared/logging/logger.js';
import type { ConversationTurn, ErrorBody, Job } from '../../../shared/protocol/index.js';

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

/** A question for the user (human in the loop). */
export interface AskUserRequest {
  prompt: string;
  options?: string[];
  /** How long to wait (ms); the worker's INPUT_TIMEOUT_MS by default. */
  timeoutMs?: number;
  agent?: string;
}

export interface AgentContext {
  job: Job;
  /** Aborted on cancel, on timeout, and when the writer is fenced. */
  signal: AbortSignal;
  log: Logger;
  /** Set when this run continues an interrupted attempt (only for agents with `canContinue`). */
  resumeFrom?: ResumePoint;
  /** The conversation so far (turns before this one), rebuilt from the session's log. */
  history: ConversationTurn[];
  /**
   * Asks the user and waits for the answer (an `input_request` event, answered by an `input`
   * frame on any gateway). Rejects with an input-timeout error after the deadline.
   */
  askUser(req: AskUserRequest): Promise<string>;
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
