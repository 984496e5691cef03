import { Agent, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
