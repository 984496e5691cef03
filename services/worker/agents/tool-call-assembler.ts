import type { AgentOutput } from './agent.js';

/** One streamed fragment of a tool call, as in a `chat.completion.chunk` delta. */
export interface ToolCallDelta {
  index: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

type ToolCallOut = Extract<AgentOutput, { kind: 'tool_call' }>;

/**
 * Rebuilds tool calls from streamed fragments. The first fragment of a call carries its id and
 * name, the following ones pieces of the JSON arguments, all keyed by `index`. Calls are handed
 * out whole at the end of the choice (`finish_reason`): the API does not promise that calls
 * are streamed one after another, so a call is only known to be complete then.
 */
export class ToolCallAssembler {
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  add(deltas: readonly ToolCallDelta[]): void {
    for (const d of deltas) {
      let call = this.calls.get(d.index);
      if (!call) {
        call = { id: '', name: '', arguments: '' };
        this.calls.set(d.index, call);
      }
      if (d.id) call.id = d.id;
      // Names come whole in OpenAI's stream; some compatible servers split them, so append.
      if (d.function?.name) call.name += d.function.name;
      if (d.function?.arguments) call.arguments += d.function.arguments;
    }
  }

  get size(): number {
    return this.calls.size;
  }

  /** Every assembled call in index order (ids made up for servers that send none); empties the assembler. */
  drain(): ToolCallOut[] {
    const out = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(
        ([index, c]): ToolCallOut => ({
          kind: 'tool_call',
          id: c.id || `call_${index}`,
          name: c.name,
          arguments: c.arguments,
        }),
      );
    this.calls.clear();
    return out;
  }
}
