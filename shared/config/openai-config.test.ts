import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';
import { WorkerConfig } from './worker-config.js';

describe('config - openai agent settings', () => {
  it('defaults to the OpenAI endpoint with retries, usage and no tools', () => {
    const c = loadConfig(WorkerConfig, {});
    expect(c).toMatchObject({
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      OPENAI_MODEL: 'gpt-4o-mini',
      OPENAI_MAX_RETRIES: 2,
      OPENAI_STREAM_USAGE: true,
      OPENAI_MAX_TOKENS_FIELD: 'max_tokens',
    });
    expect(c.OPENAI_TEMPERATURE).toBeUndefined();
    expect(c.OPENAI_TOOLS).toBeUndefined();
  });

  it('parses OPENAI_TOOLS JSON and names the variable when it is not valid', () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    expect(loadConfig(WorkerConfig, { OPENAI_TOOLS: JSON.stringify(tools) }).OPENAI_TOOLS).toEqual(tools);
    for (const bad of ['[{', '[{"type":"function","function":{"name":"has space"}}]']) {
      expect(() => loadConfig(WorkerConfig, { OPENAI_TOOLS: bad })).toThrowError(ConfigError);
      expect(() => loadConfig(WorkerConfig, { OPENAI_TOOLS: bad })).toThrowError(/OPENAI_TOOLS/);
    }
    expect(() => loadConfig(WorkerConfig, { OPENAI_TEMPERATURE: '3' })).toThrowError(/OPENAI_TEMPERATURE/);
  });
});
