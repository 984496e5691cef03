import type { ErrorBody, SessionEvent } from '../../../shared/protocol/index.js';

/**
 * How sequence numbers map to the log: the Responses events rendered from the fabric event at
 * position `seq` are numbered `seq * SEQ_STRIDE + k` (k = 0, 1, ... in order; one fabric event
 * yields at most 8). So `floor(n / SEQ_STRIDE)` is the position of event n, numbering is the same
 * on every gateway, and `starting_after=n` resumes anywhere. Numbers increase but have gaps.
 */
export const SEQ_STRIDE = 16;

/** The name of the function call that carries an agent's question to the user (`input_request`). */
export const INPUT_REQUEST_FUNCTION = 'input_request';

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'incomplete' | 'cancelled';

/** One Responses streaming event (`type` + `sequence_number` + its fields). */
export interface ResponsesEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

interface TextPart {
  type: 'output_text';
  text: string;
  annotations: never[];
  logprobs: never[];
}
interface MessageItem {
  id: string;
  type: 'message';
  status: 'in_progress' | 'completed' | 'incomplete';
  role: 'assistant';
  content: TextPart[];
}
interface FunctionCallItem {
  id: string;
  type: 'function_call';
  status: 'completed';
  call_id: string;
  name: string;
  arguments: string;
}
type OutputItem = MessageItem | FunctionCallItem;

/** What a response says about itself besides its output (fixed per response, known on every gateway). */
export interface ResponseContext {
  id: string;
  /** seq of the segment's first event (a `user_message` or an `input`). */
  startSeq: number;
  model: string;
  instructions: string | null;
  previousResponseId: string | null;
}

const part = (text: string): TextPart => ({ type: 'output_text', text, annotations: [], logprobs: [] });

/**
 * The Responses view of one segment of a session log, built event by event: `apply` turns each
 * fabric event into the Responses events it stands for, and `response()` is the response object
 * so far. Pure and deterministic: the same log gives the same events and numbers on any gateway.
 */
export class ResponseProjection {
  private status: ResponseStatus = 'queued';
  private readonly output: OutputItem[] = [];
  private open: { item: MessageItem; index: number; agent: string | undefined } | null = null;
  private usage: { input: number; output: number; total: number } | null = null;
  private error: { code: string; message: string } | null = null;
  private incomplete: { reason: string } | null = null;
  private createdAt = Math.floor(Date.now() / 1000);
  private emitted: ResponsesEvent[] = [];
  private next = 0;
  private lastNumber = -1;

  constructor(private readonly ctx: ResponseContext) {}

  /** True once the response reached its end (terminal event or a question to the user). */
  get ended(): boolean {
    return this.status !== 'queued' && this.status !== 'in_progress';
  }

  /** The highest sequence number produced so far (-1 before any). */
  get lastSequenceNumber(): number {
    return this.lastNumber;
  }

  /** The Responses events for one fabric event of the session (none outside this segment). */
  apply(ev: SessionEvent): ResponsesEvent[] {
    if (this.ended || ev.seq < this.ctx.startSeq) return [];
    this.emitted = [];
    this.next = ev.seq * SEQ_STRIDE;
    if (ev.seq === this.ctx.startSeq) {
      this.createdAt = Math.floor(ev.ts / 1000);
      this.emit('response.created', { response: this.response() });
      this.status = 'in_progress';
      this.emit('response.in_progress', { response: this.response() });
      return this.emitted;
    }
    switch (ev.type) {
      case 'token':
        if (this.open && this.open.agent !== ev.agent) this.closeText('completed');
        this.delta(ev.seq, ev.text, ev.agent);
        break;
      case 'message':
        // The boundary after an agent's streamed tokens; a message nobody streamed is shown whole.
        if (ev.role !== 'assistant') break;
        if (!this.open) this.delta(ev.seq, ev.text, ev.agent);
        this.closeText('completed');
        break;
      case 'tool_call':
        this.closeText('completed');
        this.functionCall(`fc_${ev.sid}_${ev.seq}`, ev.id, ev.name, ev.arguments);
        break;
      case 'input_request': {
        this.closeText('completed');
        const args = { prompt: ev.prompt, ...(ev.options ? { options: ev.options } : {}) };
        this.functionCall(
          `fc_${ev.sid}_${ev.seq}`,
          ev.requestId,
          INPUT_REQUEST_FUNCTION,
          JSON.stringify(args),
        );
        this.finish('completed');
        break;
      }
      case 'usage':
        this.usage = {
          input: (this.usage?.input ?? 0) + ev.promptTokens,
          output: (this.usage?.output ?? 0) + ev.completionTokens,
          total: (this.usage?.total ?? 0) + ev.totalTokens,
        };
        break;
      case 'restart':
        // A rerun discards the interrupted attempt: its item ends incomplete, the new text opens another.
        if (ev.mode === 'rerun') this.closeText('incomplete');
        break;
      case 'done':
        this.closeText('completed');
        if (ev.finishReason === 'length') this.incomplete = { reason: 'max_output_tokens' };
        this.finish(ev.finishReason === 'length' ? 'incomplete' : 'completed');
        break;
      case 'cancelled':
        this.closeText('incomplete');
        this.finish('cancelled');
        break;
      case 'error':
        this.closeText('incomplete');
        this.error = { code: ev.error.code, message: ev.error.message };
        this.finish('failed');
        break;
      default:
        break; // tool_result, user_message, input: not part of a response's output
    }
    return this.emitted;
  }

  /** An `error` event for a failure outside the log (token expired, log unreadable): not a position. */
  errorEvent(error: ErrorBody): ResponsesEvent {
    return {
      type: 'error',
      sequence_number: Math.max(0, this.lastNumber),
      code: error.code,
      message: error.message,
      param: null,
    };
  }

  /** The response object as OpenAI shapes it. */
  response(): Record<string, unknown> {
    const u = this.usage;
    return {
      id: this.ctx.id,
      object: 'response',
      created_at: this.createdAt,
      status: this.status,
      // Every fabric response runs on without its client and can be resumed: what `background` promises.
      background: true,
      model: this.ctx.model,
      instructions: this.ctx.instructions,
      previous_response_id: this.ctx.previousResponseId,
      output: this.output.map((i) => structuredClone(i)),
      error: this.error,
      incomplete_details: this.incomplete,
      usage: u && {
        input_tokens: u.input,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: u.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: u.total,
      },
      metadata: {},
      parallel_tool_calls: true,
      tool_choice: 'auto',
      tools: [],
      temperature: null,
      top_p: null,
      max_output_tokens: null,
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      store: true,
    };
  }

  private emit(type: string, fields: Record<string, unknown>): void {
    this.lastNumber = this.next++;
    this.emitted.push({ type, sequence_number: this.lastNumber, ...fields });
  }

  private delta(seq: number, text: string, agent: string | undefined): void {
    if (!this.open) {
      const item: MessageItem = {
        id: `msg_${this.ctx.id.slice('resp_'.length)}_${seq}`,
        type: 'message',
        status: 'in_progress',
        role: 'assistant',
        content: [],
      };
      this.open = { item, index: this.output.length, agent };
      this.output.push(item);
      this.emit('response.output_item.added', { output_index: this.open.index, item: structuredClone(item) });
      item.content.push(part(''));
      this.emit('response.content_part.added', { ...this.where(), part: part('') });
    }
    this.open.item.content[0]!.text += text;
    this.emit('response.output_text.delta', { ...this.where(), delta: text, logprobs: [] });
  }

  private where() {
    const o = this.open!;
    return { item_id: o.item.id, output_index: o.index, content_index: 0 };
  }

  private closeText(status: 'completed' | 'incomplete'): void {
    const o = this.open;
    if (!o) return;
    const text = o.item.content[0]!.text;
    this.emit('response.output_text.done', { ...this.where(), text, logprobs: [] });
    this.emit('response.content_part.done', { ...this.where(), part: part(text) });
    o.item.status = status;
    this.emit('response.output_item.done', { output_index: o.index, item: structuredClone(o.item) });
    this.open = null;
  }

  private functionCall(id: string, callId: string, name: string, args: string): void {
    const item: FunctionCallItem = {
      id,
      type: 'function_call',
      status: 'completed',
      call_id: callId,
      name,
      arguments: args,
    };
    const index = this.output.length;
    this.output.push(item);
    this.emit('response.output_item.added', {
      output_index: index,
      item: { ...item, arguments: '', status: 'in_progress' },
    });
    this.emit('response.function_call_arguments.delta', { item_id: id, output_index: index, delta: args });
    this.emit('response.function_call_arguments.done', {
      item_id: id,
      output_index: index,
      name,
      arguments: args,
    });
    this.emit('response.output_item.done', { output_index: index, item: { ...item } });
  }

  private finish(status: ResponseStatus): void {
    this.status = status;
    const type =
      status === 'completed'
        ? 'response.completed'
        : status === 'failed'
          ? 'response.failed'
          : 'response.incomplete';
    this.emit(type, { response: this.response() });
  }
}
