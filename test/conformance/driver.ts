import type { ConversationTurn, SessionEvent } from '../../shared/protocol/index.js';
import type { TestFabric } from '../harness/fabric.js';

/**
 * The worker pools a conformance topology runs. An implementation may serve several of them with
 * one agent (the TypeScript worker's `builtin` agent does the streaming, human-in-the-loop and
 * follow-up work alone), or need a different agent for each (a bridge serves one builder each).
 * - `main`: streaming turns (exact text, cancel, kill, zombie, invalid jobs);
 * - `human`: an agent that asks the user one question and answers from the reply;
 * - `history`: an agent whose follow-up answer shows the history it was given;
 * - `poison`: a separate pool (its own consumer) whose worker the suite kills on every delivery.
 */
export type PoolRole = 'main' | 'human' | 'history' | 'poison';

/** A worker process of the implementation under test (a Node worker or a Python bridge). */
export interface WorkerProc {
  /** Its WORKER_ID: the `<worker>` of the `Sf-Writer: <worker>/<delivery>` header on its writes. */
  id: string;
  pid: number;
  /** Its JSON log lines so far. */
  logs: Record<string, unknown>[];
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** What a client sends to start a turn. */
export interface StartSpec {
  agent: string;
  input: string;
  options?: Record<string, unknown>;
}

/** One expectation a driver adds to a scenario: a label, what the run gave and what it must give. */
export interface Check {
  what: string;
  got: unknown;
  want: unknown;
}

/**
 * How to run one worker implementation under the conformance suite: how to spawn its processes,
 * which agent each pool serves, and the exact output of its deterministic demo agents. Adding an
 * implementation is one object of this shape in `drivers.ts`.
 */
export interface WorkerDriver {
  /** Short id: the column of the conformance table and the results file name. */
  name: string;
  /** One line for the table: what runs (framework, demo builder). */
  describe: string;
  /**
   * Scenarios this implementation is known NOT to pass yet, with why. They still run, and must
   * fail (vitest `it.fails`): the table shows the divergence, and a fix turns the run red until
   * its entry here is removed.
   */
  divergences?: Readonly<Record<string, string>>;
  /** Why this implementation cannot run here (a module that is not installed), else undefined. */
  unavailable(): string | undefined;
  /** The agent name each pool serves (pools with the same agent are one pool). */
  agent(pool: PoolRole): string;
  /** Starts one worker process of `pool`; resolves once it is ready to take jobs. */
  spawn(pool: PoolRole, env: Record<string, string>, fabric: TestFabric): Promise<WorkerProc>;
  /** A streamed answer of about `length` words at `tokensPerSecond` (0 = unpaced). */
  stream(o: { length: number; tokensPerSecond: number; tag: string }): StartSpec;
  /** The exact answer text of `stream(...)` for that start. */
  streamText(start: StartSpec): string;
  /** A turn in which the agent asks the user one question before it answers. */
  human(tag: string): StartSpec;
  /** The final answer of a `human` turn once the user answered `answer`. */
  humanAnswer(start: StartSpec, answer: string): string;
  /**
   * A two-turn conversation: `start` (a question in it, if any, is answered with `answer`), then
   * `next` as a follow-up; `checks` prove the second turn was given the first as history.
   */
  followUp(tag: string): {
    start: StartSpec;
    answer: string;
    next: string;
    checks(turns: ConversationTurn[], events: SessionEvent[]): Check[];
  };
  /** Releases what the driver started besides its workers (e.g. a scripted model server). */
  stop?(): Promise<void>;
}

/** The final answer of a turn: its last agent message, or the streamed text when it has none. */
export function finalAnswer(t: ConversationTurn): string {
  return t.messages.length > 0 ? t.messages.at(-1)!.text : t.assistant;
}
