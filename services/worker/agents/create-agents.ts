import type { WorkerConfig } from '../../../shared/config/worker-config.js';
import type { Logger } from '../../../shared/logging/logger.js';
import type { Agent } from './agent.js';
import { BuiltinAgent } from './builtin-agent.js';

/** Builds every agent this worker knows, by name. Only `main.ts` calls it. */
export function createAgents(config: WorkerConfig, _log: Logger): Map<string, Agent> {
  const agents = new Map<string, Agent>();
  agents.set(
    'builtin',
    new BuiltinAgent({
      tokensPerSecond: config.BUILTIN_TOKENS_PER_SECOND,
      length: config.BUILTIN_LENGTH,
      thinkMs: config.BUILTIN_THINK_MS,
      ...(config.BUILTIN_FAULT_CRASH_INPUT !== undefined
        ? { crashOnInput: config.BUILTIN_FAULT_CRASH_INPUT }
        : {}),
    }),
  );
  return agents;
}
