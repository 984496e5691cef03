import { execFileSync } from 'node:child_process';
import { demoText } from '../../scripts/topology/bridge-demo.js';
import { spawnBridge, venvPython } from '../../scripts/topology/bridge-process.js';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { builtinAnswerText, builtinText, seedFromInput } from '../../services/worker/agents/builtin-model.js';
import { estimateTokens } from '../../shared/protocol/index.js';
import type { TestFabric } from '../harness/fabric.js';
import { finalAnswer, type PoolRole, type StartSpec, type WorkerDriver, type WorkerProc } from './driver.js';
import { messageText, ScriptedModel } from './scripted-model.js';

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
    return typescriptWorker(fabric, { ...env, ...extra });
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
  env?(
    fabric: Parameters<WorkerDriver['spawn']>[2],
  ): Record<string, string> | Promise<Record<string, string>>;
  streamText(s: StartSpec): string;
  divergences?: Record<string, string>;
  humanAnswer(s: StartSpec, answer: string): string;
  /** The follow-up's second answer, which recaps the first turn (checked when given). */
  recap?(first: StartSpec, answer: string, next: string): string;
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
        env: { NATS_URL: fabric.nats.urls, STREAM_LOG_LEVEL: 'info', ...(await a.env?.(fabric)), ...env },
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
        checks: (turns) =>
          a.recap
            ? [
                {
                  what: 'turn 2 answer (recaps turn 1)',
                  got: finalAnswer(turns[1]!),
                  want: a.recap(start, 'Lisbon', next),
                },
              ]
            : [],
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

  // concierge: `guide` asks, `customer` (the user) answers, `guide` recaps what user and customer said.
  humanAnswer: (s, answer) => `Noted. So far: user: ${s.input}; customer: ${answer}. TERMINATE`,
  recap: (s, answer, next) =>
    `Noted. So far: user: ${s.input}; customer: ${answer}; user: ${next}. TERMINATE`,
});

/** Scripts the model for a `human` turn's input; returns the final answer once `answer` is given. */
type HumanScript = (model: ScriptedModel, input: string, answer: string) => string;

/**
 * An implementation whose agents talk to an OpenAI-compatible server: the suite's scripted model,
 * which the driver scripts before each start so the exact answer is known and the stream is paced
 * as the scenario asks. The follow-up's proof of history is the second turn's model request
 * itself: it carries turn 1. `base` gives the agents, processes and start frames.
 */
function scripted(base: WorkerDriver, model: ScriptedModel, human: HumanScript): WorkerDriver {
  const answers = new Map<string, string>();
  return {
    ...base,
    stop: async () => {
      await base.stop?.();
      await model.stop();
    },
    stream(o) {
      const s = base.stream(o);
      answers.set(s.input, model.words(s.input, o.length, o.tokensPerSecond));
      return s;
    },
    streamText: (s) => answers.get(s.input) ?? '',
    human(tag) {
      const s = base.human(tag);
      // Scripted here (and again by humanAnswer, idempotently) so the model knows it before the start.
      human(model, s.input, '');
      return s;
    },
    humanAnswer: (s, answer) => human(model, s.input, answer),
    followUp(tag) {
      const f = base.followUp(tag);
      return {
        ...f,
        checks: (turns) => {
          const asked = model.requestsFor(f.next).at(-1);
          return [
            // Unscripted prompts get the fake server's `echo: <prompt>`.
            { what: 'turn 2 answer', got: finalAnswer(turns[1]!), want: `echo: ${f.next}` },
            {
              what: 'turn 2 model request (the conversation so far + the follow-up)',
              got: asked?.messages
                .filter((m) => m.role === 'user' || m.role === 'assistant')
                .map((m) => `${m.role}: ${messageText(m.content)}`),
              want: [`user: ${turns[0]!.user}`, `assistant: ${finalAnswer(turns[0]!)}`, `user: ${f.next}`],
            },
          ];
        },
      };
    },
  };
}

/**
 * A human turn whose question is a tool call of the model (an approval, `ask_user`): the call's
 * arguments are paced, so a rerun takes about a second to get back to the question. Requests for
 * this prompt: the lost attempt's call, the rerun's call, then the answer after the tool result.
 */
function toolQuestion(
  model: ScriptedModel,
  input: string,
  name: string,
  args: string,
  answer: string[],
): string {
  const ask = {
    toolCalls: [{ id: 'call_conf', name, arguments: args }],
    tokenDelayMs: 250,
    argChunkChars: 5,
  };
  model.script(input, ask, ask, { tokens: answer });
  return answer.join('');
}

/** A bridge adapter whose demo builders read STREAMFABRIC_DEMO_OPENAI_BASE_URL. */
export function scriptedBridgeDriver(
  a: Omit<BridgeAdapter, 'env' | 'streamText' | 'humanAnswer' | 'recap'> & { human: HumanScript },
): WorkerDriver {
  const model = new ScriptedModel();
  const base = bridgeDriver({
    ...a,
    env: async () => ({
      STREAMFABRIC_DEMO_OPENAI_BASE_URL: await model.baseUrl(),
      STREAMFABRIC_DEMO_OPENAI_MODEL: 'conformance-model',
    }),
    // Both come from the scripts (see `scripted`).
    streamText: () => '',
    humanAnswer: () => '',
  });
  return scripted(base, model, a.human);
}

/** A TypeScript worker process as the suite sees it. */
async function typescriptWorker(fabric: TestFabric, env: Record<string, string>): Promise<WorkerProc> {
  const w = await fabric.addWorker(env);
  return { id: env.WORKER_ID!, pid: w.process.pid!, logs: w.logs, kill: (s) => w.kill(s) };
}

/**
 * The TypeScript worker's `openai` agent with its `ask_user` tool, on the scripted model: the
 * TypeScript implementation that reruns a turn (a model's answer cannot be continued), as the
 * bridge does. Its poison pool is the built-in agent (a pool needs its own consumer, and the
 * worker has two agents; that scenario checks no text).
 */
function typescriptOpenAiDriver(): WorkerDriver {
  const model = new ScriptedModel();
  const base: WorkerDriver = {
    name: 'typescript-openai',
    describe: 'services/worker, openai agent with ask_user (scripted OpenAI-compatible model)',
    unavailable: () => undefined,
    agent: (pool) => (pool === 'poison' ? 'builtin' : 'openai'),
    async spawn(pool, env, fabric) {
      const agent: Record<string, string> =
        pool === 'poison'
          ? { WORKER_AGENTS: 'builtin' }
          : {
              WORKER_AGENTS: 'openai',
              OPENAI_BASE_URL: await model.baseUrl(),
              OPENAI_MODEL: 'conformance-model',
              OPENAI_API_KEY: 'none',
              OPENAI_ASK_USER_TOOL: 'true',
            };
      return typescriptWorker(fabric, { ...env, ...agent });
    },
    // length/tokensPerSecond pace the poison pool's built-in agent; the model's pace is scripted.
    stream: ({ length, tokensPerSecond, tag }) => ({
      agent: 'openai',
      input: `stream ${tag}`,
      options: { length, tokensPerSecond },
    }),
    streamText: () => '',
    human: (tag) => ({ agent: 'openai', input: `plan a trip ${tag}` }),
    humanAnswer: () => '',
    followUp: (tag) => ({
      start: { agent: 'openai', input: `plan a trip ${tag}` },
      answer: 'Lisbon',
      next: 'what did I book?',
      checks: () => [],
    }),
  };
  return scripted(base, model, (m, input) =>
    toolQuestion(m, input, 'ask_user', '{"question": "Book it?"}', ['Booked', ' as', ' you', ' said.']),
  );
}

export const typescriptOpenAi = typescriptOpenAiDriver();

/** A demo module's pools: `build` streams (and keeps history), `human` is its human-input builder. */
function demoBuilders(module: string, human: string): Record<PoolRole, string> {
  return {
    main: `${module}:build`,
    human: `${module}:${human}`,
    history: `${module}:build`,
    poison: `${module}:build`,
  };
}

/**
 * AG2 classic (`import autogen`): the seed's AssistantAgent + UserProxyAgent pair, its llm_config
 * streaming from the scripted model. Human input is a UserProxyAgent with human_input_mode ALWAYS.
 */
export const ag2Driver = scriptedBridgeDriver({
  name: 'ag2',
  describe: 'bridge, AG2 classic AssistantAgent + UserProxyAgent (llm_config stream: True, scripted model)',
  module: 'streamfabric_autogen.demos.ag2_pair',
  builders: demoBuilders('streamfabric_autogen.demos.ag2_pair', 'build_human'),
  // build_human: the assistant answers the task (its question, paced so a rerun replays it for
  // about a second), `customer` (the session's user) replies, the assistant answers the reply.
  // The fake server's unscripted answer is `echo: <prompt>`: the final answer carries the reply.
  human(model, input, answer) {
    model.script(input, { tokens: ['Where', ' shall', ' we', ' go', '?'], tokenDelayMs: 200 });
    return `echo: ${answer}`;
  },
});

/**
 * Microsoft Agent Framework: an `Agent` on the framework's OpenAI chat-completions client, streaming
 * from the scripted model. Human input is tool approval (`approval_mode="always_require"`).
 */
export const agentFrameworkDriver = scriptedBridgeDriver({
  name: 'agent-framework',
  describe: 'bridge, Agent Framework Agent with tools (OpenAIChatCompletionClient, scripted model)',
  module: 'streamfabric_autogen.demos.agent_framework_agent',
  builders: demoBuilders('streamfabric_autogen.demos.agent_framework_agent', 'build_approval'),
  // build_approval: the question is the approval of the model's `cancel_order` call; the user's
  // `yes` approves it, the tool runs and the model answers.
  human: (model, input) =>
    toolQuestion(model, input, 'cancel_order', '{"order": "conf-42"}', [
      'Order',
      ' conf-42',
      ' is',
      ' cancelled.',
    ]),
});

/** Every implementation the suite knows, in table order. */
export const DRIVERS: WorkerDriver[] = [
  typescriptDriver,
  typescriptOpenAi,
  agentchatDriver,
  ag2Driver,
  agentFrameworkDriver,
];
