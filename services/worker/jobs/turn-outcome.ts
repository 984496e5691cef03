import type { ErrorBody } from '../../../shared/protocol/index.js';

/** Why a running turn was stopped from outside the agent. */
export type AbortReason =
  | { kind: 'cancel'; reason?: string }
  | { kind: 'timeout' }
  | { kind: 'shutdown' }
  | { kind: 'fenced' };

/** Builds the abort reason for a timeout error event. */
export function timeoutError(ms: number): ErrorBody {
  return { code: 'timeout', message: `turn exceeded STREAM_TIMEOUT (${ms} ms)`, retryable: true };
}
