import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/topology/service-process.js';
import { builtinText, seedFromInput } from '../../services/worker/agents/builtin-model.js';
import { startFabric, type TestFabric } from '../harness/fabric.js';

// The OpenAI Agents SDK for JS, given a gateway as its model provider, runs an agent turn over the
// Responses API: the fabric's built-in agent answers (no API key, no internet).
let fabric: TestFabric;

beforeAll(async () => {
  setTracingDisabled(true); // tracing would export to api.openai.com
  fabric = await startFabric({
    gateways: 1,
    workers: 1,
    workerEnv: { BUILTIN_TOKENS_PER_SECOND: '0', BUILTIN_LENGTH: '60' },
  });
});
afterAll(async () => {
  await fabric?.stop();
});

describe('responses api - the OpenAI Agents SDK with a gateway as its model provider', () => {
  const provider = () =>
    new OpenAIProvider({ baseURL: `${fabric.httpUrl(0)}/v1`, apiKey: 'not-needed', useResponses: true });
  const input = 'Explain durable streams in one paragraph';

  it('runs an agent turn (non-streamed) and returns the built-in answer as finalOutput', async () => {
    const agent = new Agent({ name: 'Assistant', instructions: 'You are terse.', model: 'builtin' });
    const runner = new Runner({ modelProvider: provider(), tracingDisabled: true });
    const result = await runner.run(agent, input);
    expect(result.finalOutput).toBe(builtinText(seedFromInput(input), 60));
    expect(result.lastResponseId).toMatch(/^resp_s_/);
  });

  it('runs a streamed agent turn and a follow-up with previousResponseId in the same session', async () => {
    const agent = new Agent({ name: 'Assistant', model: 'streamfabric/builtin' });
    const runner = new Runner({ modelProvider: provider(), tracingDisabled: true });
    const streamed = await runner.run(agent, input, { stream: true });
    let text = '';
    for await (const e of streamed.toTextStream()) text += e;
    await streamed.completed;
    expect(text).toBe(builtinText(seedFromInput(input), 60));
    expect(streamed.finalOutput).toBe(text);
    const next = await runner.run(agent, 'And why?', { previousResponseId: streamed.lastResponseId! });
    expect(next.lastResponseId!.slice(0, next.lastResponseId!.lastIndexOf('_'))).toBe(
      streamed.lastResponseId!.slice(0, streamed.lastResponseId!.lastIndexOf('_')),
    );
    expect(next.finalOutput).toBe(builtinText(seedFromInput('And why?'), 60));
  });
});

describe('responses api - the examples of docs/responses-api.md run as written', () => {
  /** The doc's `js` blocks, pointed at this test's gateway, run with node from inside the repo. */
  const runExample = async (n: number) => {
    const doc = readFileSync(join(repoRoot(), 'docs', 'responses-api.md'), 'utf8');
    const code = [...doc.matchAll(/```js\n([\s\S]*?)```/g)][n]![1]!;
    // Inside the repo (so `openai` resolves) and outside what biome lints.
    const dir = join(repoRoot(), 'dist', 'docs-examples');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `responses-${n}.mjs`);
    writeFileSync(file, code.replaceAll('http://127.0.0.1:8080', fabric.httpUrl(0)));
    return (await promisify(execFile)(process.execPath, [file], { timeout: 60_000 })).stdout;
  };

  it('the resume example prints the whole answer across the break, then a follow-up', async () => {
    const out = await runExample(0);
    const m =
      /^([\s\S]*)\n-- dropped after sequence_number (\d+); resuming (resp_\S+)\n([\s\S]*)\n-- completed at (\d+)\n(resp_\S+) /.exec(
        out,
      );
    expect(m, out).not.toBeNull();
    expect(m![1]! + m![4]!).toBe(builtinText(seedFromInput('Tell me about durable streams'), 60));
    expect(Number(m![5])).toBeGreaterThan(Number(m![2]));
    expect(m![6]!.slice(0, m![6]!.lastIndexOf('_'))).toBe(m![3]!.slice(0, m![3]!.lastIndexOf('_')));
  });

  it('the Agents SDK example prints the final output', async () => {
    expect((await runExample(1)).trim()).toBe(builtinText(seedFromInput('Hello'), 60));
  });
});
