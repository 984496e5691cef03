import { z } from 'zod';

/**
 * Per-session options a client may pass with `start`. Every field is optional; workers
 * fall back to their configured defaults. Unknown keys are rejected so typos surface.
 */
export const SessionOptions = z
  .object({
    /** Built-in model: seed of the deterministic text (same seed, same text). */
    seed: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31)
      .optional(),
    /** Built-in model: number of model tokens to produce. */
    length: z.number().int().min(1).max(100_000).optional(),
    /** Built-in model: generation speed. 0 means as fast as possible. */
    tokensPerSecond: z.number().min(0).max(100_000).optional(),
    /** Built-in model: delay before the first token, ms (a model's "think time"). */
    thinkMs: z.number().int().min(0).max(600_000).optional(),
    /**
     * Built-in model: ask the user this question before answering (human in the loop); the
     * answer is woven into the reply. A product feature for demos and tests of `input`.
     */
    askUser: z
      .object({
        prompt: z.string().min(1).max(2_000),
        options: z.array(z.string().max(200)).max(20).optional(),
        /** How long to wait for the answer (ms) before the turn ends with `input_timeout`. */
        timeoutMs: z.number().int().min(100).max(86_400_000).optional(),
      })
      .strict()
      .optional(),
    /**
     * Built-in model: speak as a team. The answer is split into one consecutive part per name;
     * each part streams with that agent's name and ends with its `message`, like a multi-agent
     * team does (for demos of multi-agent rendering without a model).
     */
    team: z
      .array(z.string().regex(/^[A-Za-z0-9_ -]{1,40}$/))
      .min(1)
      .max(8)
      .optional(),
    /** OpenAI-compatible agents: model name. */
    model: z.string().min(1).max(200).optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxTokens: z.number().int().min(1).max(1_000_000).optional(),
    systemPrompt: z.string().max(100_000).optional(),
    /** Coalescing: flush buffered tokens at least this often (ms). */
    flushIntervalMs: z.number().int().min(0).max(10_000).optional(),
    /** Coalescing: flush when this many tokens are buffered. */
    bufferSize: z.number().int().min(1).max(10_000).optional(),
    /** Pacing: cap on tokens per second delivered for this session (0 = no cap). */
    maxTokensPerSecond: z.number().min(0).max(100_000).optional(),
  })
  .strict();
export type SessionOptions = z.infer<typeof SessionOptions>;
