import { execFileSync } from 'node:child_process';
import { demoText } from '../../scripts/topology/bridge-demo.js';
import { spawnBridge, venvPython } from '../../scripts/topology/bridge-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { builtinAnswerText, builtinText, seedFromInput } from '../../services/worker/agents/builtin-model.js';
import { estimateTokens } from '../../shared/protocol/index.js';
import { finalAnswer, type PoolRole, type StartSpec, type WorkerDriver, type WorkerProc } from './driver.js';

/** Runs a line of Python in the project's venv and parses what it prints as JSON. */
function python(code: string, ...args: string[]): unknown {
  const out = execFileSync(venvPython(), ['-c', code, ...args], { cwd: repoRoot(), encoding: 'utf8' });
  return JSON.parse(out);
}

/** Whether a Python module imports in the venv (an adapter another branch may not have yet). */
function importable(module: string): boolean {
  try {
    return (
      python(`import importlib, json, sys\nimportlib.import_module(sys.argv[1])\nprint("true")`, module) ===
      true
    );
  } catch {
    return false;
  }
}

/** The TypeScript worker (`services/worker`) with its built-in deterministic model. */
export const typescriptDriver: WorkerDriver = {
  name: 'typescript',
  describe: 'services/worker, built-in model',
  unavailable: () => undefined,
  // The built-in agent streams, asks the user (`options.askUser`) and sees history on its own. The
  // poison pool needs a consumer of its own: the worker's `openai` agent, whose model is the
  // gateway's own OpenAI-compatible endpoint (built-in model behind it).
  agent: (pool) => (pool === 'poison' ? 'openai' : 'builtin'),
  async spawn(pool, env, fabric) {
    const extra: Record<string, string> =
      pool === 'poison'
        ? { WORKER_AGENTS: 'openai', OPENAI_BASE_URL: `${fabric.httpUrl(0)}/v1`, OPENAI_MODEL: 'builtin' }
        : {};
    const w = await fabric.addWorker({ ...env, ...extra });
    return { id: env.WORKER_ID!, pid: w.process.pid!, logs: w.logs, kill: (s) => w.kill(s) };
  },
  stream: ({ length, tokensPerSecond, tag }) => ({
    agent: 'builtin',
    input: `stream ${tag}`,
    options: { seed: seedFromInput(tag) % 1_000_000, length, tokensPerSecond },
  }),
  streamText: (s) => builtinText(Number(s.options!.seed), Number(s.options!.length)),
  human: (tag) => ({
    agent: 'builtin',
    input: `ask ${tag}`,
    options: {
      seed: seedFromInput(tag) % 1_000_000,
      length: 25,
      tokensPerSecond: 200,
      askUser: { prompt: 'Proceed?' },
    },
  }),
  humanAnswer: (s, answer) => builtinAnswerText(answer, Number(s.options!.seed), Number(s.options!.length)),
  followUp(tag) {
    const seed = seedFromInput(tag) % 1_000_000;
    const next = 'second question';
    return {
      start: {
        agent: 'builtin',
        input: 'first question',
        options: { seed, length: 25, tokensPerSecond: 400 },
      },
      answer: '',
      next,
      checks: (turns, events) => [
        // Turn n of a seeded session streams builtinText(seed + n - 1).
        { what: 'turn 2 answer', got: finalAnswer(turns[1]!), want: builtinText(seed + 1, 25) },
        // The prompt it was given is the history rebuilt from the log plus the new message.
        {
          what: 'turn 2 prompt tokens (history + message)',
          got: events.flatMap((e) => (e.type === 'usage' ? [e.promptTokens] : [])).at(-1),
          want: estimateTokens(turns.slice(0, 1), next),
        },
      ],
    };
  },
};

/** What differs between bridge adapters: the builders behind each pool and their demo texts. */
interface BridgeAdapter {
  name: string;
  describe: string;
  /** A module that exists only once the adapter is installed (the driver is skipped without it). */
  module: string;
  builders: Record<PoolRole, string>;
  /** Extra env for the bridge (e.g. the OpenAI-compatible base URL of its demo model). */
  env?(fabric: Parameters<WorkerDriver['spawn']>[2]): Record<string, string>;
  streamText(s: StartSpec): string;
  divergences?: Record<string, string>;
  humanAnswer(s: StartSpec, answer: string): string;
  /** The follow-up's second answer, which recaps the first turn. */
  recap(first: StartSpec, answer: string, next: string): string;
}

/** A driver for one adapter of the Python bridge (`python -m streamfabric_autogen`). */
export function bridgeDriver(a: BridgeAdapter): WorkerDriver {
  // A bridge serves one builder: each pool is its own agent name (human and history share one).
  const agent = (pool: PoolRole) =>
    `conf-${a.name}-${a.builders[pool].split(':')[1]}${pool === 'poison' ? '-poison' : ''}`;
  let missing: string | undefined | null = null;
  return {
    name: a.name,
    describe: a.describe,
    ...(a.divergences ? { divergences: a.divergences } : {}),
    unavailable() {
      if (missing === null) missing = importable(a.module) ? undefined : `${a.module} is not importable`;
      return missing;
    },
    agent,
    async spawn(pool, env, fabric) {
      const b = await spawnBridge({
        builder: a.builders[pool],
        agent: agent(pool),
        env: { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info', ...a.env?.(fabric), ...env },
      });
      return {
        id: env.WORKER_ID!,
        pid: b.process.pid!,
        logs: b.logs,
        kill: (s) => b.kill(s),
      } satisfies WorkerProc;
    },
    stream: ({ length, tokensPerSecond, tag }) => ({
      agent: agent('main'),
      input: `stream ${tag}`,
      options: { length, tokensPerSecond },
    }),
    streamText: (s) => a.streamText(s),
    human: (tag) => ({
      agent: agent('human'),
      input: `plan a trip ${tag}`,
      // Slow enough that a rerun replays the question for about a second before it waits again.
      options: { tokensPerSecond: 5 },
    }),
    humanAnswer: (s, answer) => a.humanAnswer(s, answer),
    followUp(tag) {
      const start = {
        agent: agent('history'),
        input: `plan a trip ${tag}`,
        options: { tokensPerSecond: 400 },
      };
      const next = 'what did I book?';
      return {
        start,
        answer: 'Lisbon',
        next,
        checks: (turns) => [
          {
            what: 'turn 2 answer (recaps turn 1)',
            got: finalAnswer(turns[1]!),
            want: a.recap(start, 'Lisbon', next),
          },
        ],
      };
    },
  };
}

/** The AgentChat adapter: demo.py's AssistantAgent and concierge team on ReplayChatCompletionClient. */
export const agentchatDriver = bridgeDriver({
  name: 'agentchat',
  describe: 'bridge, AgentChat AssistantAgent / RoundRobinGroupChat (ReplayChatCompletionClient)',
  module: 'autogen_agentchat',
  builders: {
    main: 'streamfabric_autogen.demo:assistant',
    human: 'streamfabric_autogen.demo:concierge',
    history: 'streamfabric_autogen.demo:concierge',
    poison: 'streamfabric_autogen.demo:assistant',
  },
  streamText: (s) => demoText('assistant', s.input, Number(s.options!.length)),
  divergences: {
    human:
      'an answer given while the rerun is still on its way to the question fences the bridge ' +
      '(its next token write finds the gateway’s `input` after its position): the job waits a ' +
      'redelivery and a second `restart` is written. Bridge fix: SessionWriter.append, on a ' +
      'wrong-last-sequence refusal, adopts the `input` events a gateway appended after its ' +
      'position and retries; the input broker then finds the adopted answer.',
  },
  // concierge: `guide` asks, `customer` (the user) answers, `guide` recaps what user and customer said.
  humanAnswer: (s, answer) => `Noted. So far: user: ${s.input}; customer: ${answer}. TERMINATE`,
  recap: (s, answer, next) =>
    `Noted. So far: user: ${s.input}; customer: ${answer}; user: ${next}. TERMINATE`,
});

/*
 * Adding an adapter is one entry (plus a two-line test file like agentchat.test.ts). The AG2-classic
 * and Agent Framework adapters (another branch) fit this shape; their demo models talk to an
 * OpenAI-compatible server, e.g. the gateway's own /v1 with the built-in model:
 *
 *   export const ag2Driver = bridgeDriver({
 *     name: 'ag2',
 *     describe: 'bridge, AG2 classic AssistantAgent + UserProxyAgent (llm_config -> gateway /v1)',
 *     module: 'streamfabric_autogen.demos.ag2_pair',   // skipped until it imports
 *     builders: { main: 'streamfabric_autogen.demos.ag2_pair:build', human: …, history: …, poison: … },
 *     env: (fabric) => ({ STREAMFABRIC_DEMO_OPENAI_BASE_URL: `${fabric.httpUrl(0)}/v1` }),
 *     streamText: (s) => …the demo's exact answer for s (e.g. builtinText of the prompt it sends)…,
 *     humanAnswer: …, recap: …,
 *   });
 *
 * Their expected texts depend on what those demos send to the model, so they are written with the
 * demos, not guessed here.
 */

/** Every implementation the suite knows, in table order. */
export const DRIVERS: WorkerDriver[] = [typescriptDriver, agentchatDriver];
