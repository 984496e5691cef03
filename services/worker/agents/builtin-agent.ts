import { estimateTokens } from '../../../shared/protocol/index.js';
import { type TickWheel, workerWheel } from '../timing/tick-wheel.js';
import { abortableSleep } from './abortable-sleep.js';
import type { Agent, AgentContext, AgentOutput } from './agent.js';
import { answerPrefixTokens, builtinTokens, seedFromInput } from './builtin-model.js';

export interface BuiltinDefaults {
  tokensPerSecond: number;
  length: number;
  thinkMs: number;
  /** Test hook (BUILTIN_FAULT_CRASH_INPUT): kill this worker process when the input equals it. */
  crashOnInput?: string;
  /** Test hook (BUILTIN_FAULT_THROW_INPUT): throw an Error with this message on this input. */
  throwOn?: { input: string; message: string };
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
    if (this.defaults.crashOnInput !== undefined && ctx.job.input === this.defaults.crashOnInput) {
      ctx.log.fatal('BUILTIN_FAULT_CRASH_INPUT matched: killing this worker (fault injection)');
      process.kill(process.pid, 'SIGKILL');
    }
    const throwOn = this.defaults.throwOn;
    if (throwOn !== undefined && ctx.job.input === throwOn.input) throw new Error(throwOn.message);
    const o = ctx.job.options;
    // Each turn of a conversation gets its own (still deterministic) text.
    const seed = o.seed !== undefined ? o.seed + ctx.job.turn - 1 : seedFromInput(ctx.job.input);
    const length = o.length ?? this.defaults.length;
    const tps = o.tokensPerSecond ?? this.defaults.tokensPerSecond;
    const thinkMs = o.thinkMs ?? this.defaults.thinkMs;
    let prefix: string[] = [];
    if (o.askUser) {
      // Human in the loop: on a redelivery this returns the answer already in the log.
      const answer = await ctx.askUser({
        prompt: o.askUser.prompt,
        ...(o.askUser.options ? { options: o.askUser.options } : {}),
        ...(o.askUser.timeoutMs !== undefined ? { timeoutMs: o.askUser.timeoutMs } : {}),
        agent: o.team?.[0] ?? 'builtin',
      });
      prefix = answerPrefixTokens(answer);
    }
    const tokens = [...prefix, ...builtinTokens(seed, length, prefix.length > 0)];
    const first = (ctx.resumeFrom?.lastTokenIndex ?? -1) + 1;
    const team = o.team ? new TeamSplit(o.team, tokens.length) : null;

    if (thinkMs > 0 && first === 0 && !(await abortableSleep(thinkMs, ctx.signal))) return;
    const start = performance.now();
    let i = first;
    while (i < tokens.length) {
      if (ctx.signal.aborted) return;
      // Every token due by now (several after a slow tick) goes out as one output, cut at a
      // team member's boundary so each output has one speaker.
      const due =
        tps > 0
          ? Math.min(tokens.length, first + Math.floor(((performance.now() - start) * tps) / 1000) + 1)
          : i + 1;
      while (i < due) {
        const end = team ? Math.min(due, team.partEnd(i)) : due;
        const speaker = team?.speakerOf(i);
        // Assigned, not spread: conditional spreads take V8's slow path (one output per token).
        const out: Extract<AgentOutput, { kind: 'token' }> = {
          kind: 'token',
          text: end - i === 1 ? tokens[i]! : tokens.slice(i, end).join(''),
          index: end - 1,
        };
        if (end - i > 1) out.count = end - i;
        if (speaker) out.agent = speaker;
        yield out;
        i = end;
        const ended = team?.endsAt(i);
        if (ended) yield { kind: 'message', agent: ended, text: team!.textOf(ended, tokens) };
      }
      if (i >= tokens.length || tps <= 0) continue;
      const wait = Math.max(0, start + ((i - first) * 1000) / tps - performance.now());
      if (wait < WHEEL_MAX_WAIT_MS) await this.wheel.sleep(wait);
      else if (!(await abortableSleep(wait, ctx.signal))) return;
    }
    // The prompt size covers the whole conversation the agent was given, rebuilt from the log.
    const promptTokens = estimateTokens(ctx.history, ctx.job.input);
    yield {
      kind: 'usage',
      promptTokens,
      completionTokens: tokens.length,
      totalTokens: promptTokens + tokens.length,
    };
    yield { kind: 'finish', reason: 'stop' };
  }
}

/** Splits an answer of `n` tokens into one consecutive part per team member. */
class TeamSplit {
  private readonly bounds: number[];
  constructor(
    private readonly names: string[],
    n: number,
  ) {
    this.bounds = names.map((_, k) => Math.round(((k + 1) * n) / names.length));
  }
  private part(i: number): number {
    return this.bounds.findIndex((b) => i < b);
  }
  /** Index just past the part that token `i` belongs to. */
  partEnd(i: number): number {
    return this.bounds[this.part(i)] ?? i + 1;
  }
  speakerOf(i: number): string {
    return this.names[this.part(i)]!;
  }
  /** The agent whose part ends just before token index `i`, if any. */
  endsAt(i: number): string | undefined {
    const k = this.bounds.indexOf(i);
    return k >= 0 ? this.names[k] : undefined;
  }
  textOf(name: string, tokens: string[]): string {
    const k = this.names.indexOf(name);
    return tokens
      .slice(k === 0 ? 0 : this.bounds[k - 1], this.bounds[k])
      .join('')
      .trim();
  }
}
