import { z } from 'zod';
import { AgentName } from './ids.js';

/**
 * Agent pool declarations (the FABRIC_AGENTS KV bucket), the contract between every worker
 * implementation (TypeScript worker, Python bridge) and the gateways. A gateway tells an agent
 * no pool ever declared (a typo: `unknown_agent` at once) from a known agent with no live worker
 * (the job waits, so a scaler can start one from zero). See docs/agent-pools.md.
 */

/** What runs an agent: the TypeScript worker's adapters or one of the Python bridge's. */
export const AgentKind = z
  .string()
  .regex(/^[a-z0-9_-]{1,32}$/, 'kind must be 1-32 characters of a-z 0-9 - _');
export type AgentKind = z.infer<typeof AgentKind>;

/** The kinds this repository's workers declare (others are accepted: the kind is informative). */
export const KNOWN_AGENT_KINDS = ['builtin', 'openai', 'agentchat', 'ag2', 'agent-framework'] as const;

/** A worker's id as it appears in `live.<agent>.<workerId>` keys. */
export const WorkerId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'workerId must be 1-64 characters of A-Z a-z 0-9 - _');
export type WorkerId = z.infer<typeof WorkerId>;

/** `pool.<agent>`: the agent exists. Put by every worker at start; never expires. */
export const AgentPoolDeclaration = z.object({
  v: z.literal(1),
  agent: AgentName,
  kind: AgentKind,
  /** Epoch ms of the latest put. */
  declaredAt: z.number().int().nonnegative(),
});
export type AgentPoolDeclaration = z.infer<typeof AgentPoolDeclaration>;

/**
 * `live.<agent>.<workerId>`: a worker serving the agent right now. Put at start and every
 * AGENT_HEARTBEAT_MS; deleted on graceful shutdown. Live while now - heartbeatAt <= 3 heartbeats.
 */
export const AgentLiveWorker = z.object({
  v: z.literal(1),
  agent: AgentName,
  workerId: WorkerId,
  kind: AgentKind,
  startedAt: z.number().int().nonnegative(),
  heartbeatAt: z.number().int().nonnegative(),
});
export type AgentLiveWorker = z.infer<typeof AgentLiveWorker>;

/** One agent as `GET /v1/agents` lists it. */
export const AgentInfo = z.object({
  agent: AgentName,
  kind: AgentKind,
  /** Workers that heartbeated within the liveness window. */
  liveWorkers: z.number().int().nonnegative(),
  declaredAt: z.number().int().nonnegative(),
});
export type AgentInfo = z.infer<typeof AgentInfo>;

/** Body of `GET /v1/agents`. */
export const AgentList = z.object({ agents: z.array(AgentInfo) });
export type AgentList = z.infer<typeof AgentList>;

/** Workers count as live for this many heartbeat intervals after their last one. */
export const LIVENESS_HEARTBEATS = 3;
