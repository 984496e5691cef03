import { abortableSleep } from './abortable-sleep.js';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { builtinTokens, seedFromInput } from './builtin-model.js';

export interface BuiltinDefaults {
  tokensPerSecond: number;
  length: number;
  thinkMs: number;
  /** Test hook (BUILTIN_FAULT_CRASH_INPUT): kill this worker process when the input equals it. */
  crashOnInput?: string;
}

/**
 * The default agent: the built-in deterministic model, paced at a configurable rate. Because
 * token i depends only on the seed, a new worker can continue a lost attempt exactly where the
 * log ends (`canContinue`).
 */
export class BuiltinAgent implements Agent {
  readonly name = 'builtin';
  readonly canContinue = true;

  constructor(private readonly defaults: BuiltinDefaults) {}

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
    if (this.defaults.crashOnInput !== undefined && ctx.job.input === this.defaults.crashOnInput) {
      ctx.log.fatal('BUILTIN_FAULT_CRASH_INPUT matched: killing this worker (fault injection)');
      process.kill(process.pid, 'SIGKILL');
    }
    const o = ctx.job.options;
    const seed = o.seed ?? seedFromInput(ctx.job.input);
    const length = o.length ?? this.defaults.length;
    const tps = o.tokensPerSecond ?? this.defaults.tokensPerSecond;
    const thinkMs = o.thinkMs ?? this.defaults.thinkMs;
    const tokens = builtinTokens(seed, length);
    const first = (ctx.resumeFrom?.lastTokenIndex ?? -1) + 1;

    if (thinkMs > 0 && first === 0 && !(await abortableSleep(thinkMs, ctx.signal))) return;
    const start = performance.now();
    let i = first;
    while (i < tokens.length) {
      if (ctx.signal.aborted) return;
      // Emit every token that is due by now (catching up after a slow tick), then sleep until
      // the next one is due: one timer per burst, not per token.
      const due =
        tps > 0 ? first + Math.floor(((performance.now() - start) * tps) / 1000) + 1 : tokens.length;
      while (i < Math.min(due, tokens.length)) {
        yield { kind: 'token', text: tokens[i]!, index: i };
        i++;
      }
      if (i >= tokens.length) break;
      if (tps > 0) {
        const nextAt = start + ((i - first) * 1000) / tps;
        if (!(await abortableSleep(Math.max(0, nextAt - performance.now()), ctx.signal))) return;
      }
    }
    yield {
      kind: 'usage',
      promptTokens: ctx.job.input.length > 0 ? Math.ceil(ctx.job.input.length / 4) : 0,
      completionTokens: tokens.length,
      totalTokens: Math.ceil(ctx.job.input.length / 4) + tokens.length,
    };
    yield { kind: 'finish', reason: 'stop' };
  }
}
