import { type TickWheel, workerWheel } from '../timing/tick-wheel.js';
import { abortableSleep } from './abortable-sleep.js';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { builtinTokens, seedFromInput } from './builtin-model.js';

export interface BuiltinDefaults {
  tokensPerSecond: number;
  length: number;
  thinkMs: number;
}

/** Waits shorter than this ride the shared wheel (cancel is then seen within one token gap). */
const WHEEL_MAX_WAIT_MS = 250;

/**
 * The default agent: the built-in deterministic model, paced at a configurable rate. Because
 * token i depends only on the seed, a new worker can continue a lost attempt exactly where the
 * log ends (`canContinue`).
 *
 * Pacing is cheap at scale: the pauses between tokens wait on the worker's shared tick wheel
 * (no timer and no abort listener per pause), and the tokens that fell due during a pause are
 * handed over as one output (like an SSE chunk holding several tokens).
 */
export class BuiltinAgent implements Agent {
  readonly name = 'builtin';
  readonly canContinue = true;

  constructor(
    private readonly defaults: BuiltinDefaults,
    private readonly wheel: TickWheel = workerWheel,
  ) {}

  async *run(ctx: AgentContext): AsyncIterable<AgentOutput> {
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
      if (tps > 0) {
        // Every token due by now (several after a slow tick) goes out as one output.
        const due = Math.min(
          tokens.length,
          first + Math.floor(((performance.now() - start) * tps) / 1000) + 1,
        );
        if (due > i) {
          yield { kind: 'token', text: tokens.slice(i, due).join(''), index: due - 1, count: due - i };
          i = due;
        }
        if (i >= tokens.length) break;
        const wait = Math.max(0, start + ((i - first) * 1000) / tps - performance.now());
        if (wait < WHEEL_MAX_WAIT_MS) await this.wheel.sleep(wait);
        else if (!(await abortableSleep(wait, ctx.signal))) return;
      } else {
        yield { kind: 'token', text: tokens[i]!, index: i };
        i++;
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
