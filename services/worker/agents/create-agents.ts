import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import type { WorkerConfig } from '../../../shared/config/worker-config.js';
import type { Logger } from '../../../shared/logging/logger.js';
import type { Agent } from './agent.js';
import { BuiltinAgent } from './builtin-agent.js';
import { OpenAiAgent } from './openai-agent.js';

/** Builds every agent this worker knows, by name. Only `main.ts` calls it. */
export function createAgents(config: WorkerConfig, log: Logger): Map<string, Agent> {
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
      ...(config.BUILTIN_FAULT_THROW_INPUT !== undefined
        ? {
            throwOn: {
              input: config.BUILTIN_FAULT_THROW_INPUT,
              message: `cannot reach ${config.NATS_URL.join(',')} from ${fileURLToPath(import.meta.url)}`,
            },
          }
        : {}),
    }),
  );
  agents.set('openai', createOpenAiAgent(config, log));
  return agents;
}

function createOpenAiAgent(config: WorkerConfig, log: Logger): OpenAiAgent {
  if (!config.OPENAI_API_KEY && config.WORKER_AGENTS.includes('openai'))
    log.warn({ baseUrl: config.OPENAI_BASE_URL }, 'OPENAI_API_KEY is not set: sending a placeholder key');
  const sdkLog = log.child({ component: 'openai-sdk' });
  const client = new OpenAI({
    baseURL: config.OPENAI_BASE_URL,
    // Local servers (Ollama, vLLM without --api-key) accept any key; the SDK insists on one.
    apiKey: config.OPENAI_API_KEY ?? 'not-set',
    timeout: config.OPENAI_TIMEOUT_MS,
    maxRetries: 0,
    logLevel: 'warn',
    logger: {
      error: (msg: string) => sdkLog.error(msg),
      warn: (msg: string) => sdkLog.warn(msg),
      info: (msg: string) => sdkLog.info(msg),
      debug: (msg: string) => sdkLog.debug(msg),
    },
  });
  return new OpenAiAgent(client, {
    model: config.OPENAI_MODEL,
    ...(config.OPENAI_TEMPERATURE !== undefined ? { temperature: config.OPENAI_TEMPERATURE } : {}),
    ...(config.OPENAI_MAX_TOKENS !== undefined ? { maxTokens: config.OPENAI_MAX_TOKENS } : {}),
    ...(config.OPENAI_SYSTEM_PROMPT !== undefined ? { systemPrompt: config.OPENAI_SYSTEM_PROMPT } : {}),
    ...(config.OPENAI_TOOLS !== undefined ? { tools: config.OPENAI_TOOLS } : {}),
    maxTokensField: config.OPENAI_MAX_TOKENS_FIELD,
    timeoutMs: config.OPENAI_TIMEOUT_MS,
    maxRetries: config.OPENAI_MAX_RETRIES,
    retryBaseMs: config.OPENAI_RETRY_BASE_MS,
    retryMaxDelayMs: config.OPENAI_RETRY_MAX_DELAY_MS,
    streamUsage: config.OPENAI_STREAM_USAGE,
    askUserTool: config.OPENAI_ASK_USER_TOOL,
  });
}
