import { describe, expect, it } from 'vitest';
import { ToolCallAssembler } from './tool-call-assembler.js';

describe('tool calls - assembly from stream deltas', () => {
  it('joins argument fragments per index and hands calls out in index order', () => {
    const a = new ToolCallAssembler();
    a.add([{ index: 1, id: 'call_b', function: { name: 'lookup', arguments: '' } }]);
    a.add([{ index: 0, id: 'call_a', function: { name: 'get_weather', arguments: '{"ci' } }]);
    a.add([{ index: 1, function: { arguments: '{"q":' } }]);
    a.add([
      { index: 0, function: { arguments: 'ty":"Paris"}' } },
      { index: 1, function: { arguments: '1}' } },
    ]);
    expect(a.size).toBe(2);
    expect(a.drain()).toEqual([
      { kind: 'tool_call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { kind: 'tool_call', id: 'call_b', name: 'lookup', arguments: '{"q":1}' },
    ]);
    expect(a.drain()).toEqual([]);
  });

  it('makes up an id when a compatible server sends none, and joins split names', () => {
    const a = new ToolCallAssembler();
    a.add([{ index: 0, id: null, function: { name: 'get_', arguments: null } }]);
    a.add([{ index: 0, function: { name: 'time', arguments: '{}' } }]);
    expect(a.drain()).toEqual([{ kind: 'tool_call', id: 'call_0', name: 'get_time', arguments: '{}' }]);
  });
});
