import { type ErrorBody, errorBody } from '../../../shared/protocol/index.js';
import type { AgentDirectory } from './agent-directory.js';
import type { QueuedTurn, QueueTimeouts } from './queue-timeout.js';

/** Why an admitted turn waits; undefined when a worker is live (or liveness is unknown). */
export type QueueReason = 'no_live_worker';

/** The agent checks the session service makes on every start and follow-up turn. */
export interface AgentGate {
  /** Refuses an agent no pool ever declared; otherwise says whether the turn will wait. */
  admit(agent: string): Promise<{ ok: true; queueReason?: QueueReason } | { ok: false; error: ErrorBody }>;
  /** A turn was queued while its agent had no live worker: start its queue timeout. */
  queued(turn: QueuedTurn): void;
}

/** The typed error for an agent no pool declared; names only what the caller sent. */
export function unknownAgentError(agent: string): ErrorBody {
  return errorBody(
    'unknown_agent',
    `no agent named "${agent}" is served by this fabric; GET /v1/agents lists the agents`,
  );
}

/** The gate over the gateway's {@link AgentDirectory} and {@link QueueTimeouts}. */
export function directoryGate(directory: AgentDirectory, timeouts: QueueTimeouts): AgentGate {
  return {
    async admit(agent) {
      const s = await directory.resolve(agent);
      if (!s.known) return { ok: false, error: unknownAgentError(agent) };
      return s.declared && s.liveWorkers === 0 ? { ok: true, queueReason: 'no_live_worker' } : { ok: true };
    },
    queued: (turn) => timeouts.arm(turn),
  };
}
