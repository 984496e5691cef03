import type { UIMessageChunk } from 'ai';
import type { SessionEvent } from '../../../shared/protocol/events.js';

/** The `finish` reasons the AI SDK accepts; anything else a worker reports becomes `other`. */
type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';
const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  tool_calls: 'tool-calls',
};

/**
 * What the AI SDK message of a turn carries as `metadata` (read it as `message.metadata`): the
 * session id and the seq of the turn's `user_message` (where a replay of the turn starts), then
 * the token usage and the finish figures as they arrive.
 */
export interface StreamFabricMessageMetadata {
  sid: string;
  turnSeq: number;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number };
  finishReason?: string;
  tokens?: number;
  durationMs?: number;
  lastSeq?: number;
}

/** The provider metadata key on text and tool parts: `{ streamfabric: { agent } }`. */
export const PROVIDER_KEY = 'streamfabric';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // a model may produce arguments that are not JSON: show them as they are
  }
}

/**
 * Translates one turn of a session's events into the AI SDK's UI message stream chunks. Pure and
 * incremental: feed every event in seq order with {@link push}; it ignores events up to `after`,
 * starts at the first `user_message` after that (the turn's opening) and reports `ended` at the
 * turn's terminal event. Each agent message of a team is its own text part whose
 * `providerMetadata.streamfabric.agent` names the agent.
 * @example
 * const turn = new TurnChunks(0);
 * for (const ev of events) for (const chunk of turn.push(ev)) controller.enqueue(chunk);
 */
export class TurnChunks {
  /** True after the turn's `done`, `error` or `cancelled` was translated. */
  ended = false;
  /** The seq of the turn's `user_message`, once seen. */
  turnSeq = 0;
  private open: { id: string; agent: string | undefined } | null = null;
  /** Text streamed as tokens since the last agent message boundary (so a `message` is not shown twice). */
  private streamed = '';

  constructor(private readonly after: number) {}

  push(ev: SessionEvent): UIMessageChunk[] {
    if (this.ended || ev.seq <= this.after) return [];
    if (this.turnSeq === 0) {
      if (ev.type !== 'user_message') return [];
      this.turnSeq = ev.seq;
      const messageMetadata: StreamFabricMessageMetadata = { sid: ev.sid, turnSeq: ev.seq };
      // A stable id: a replay of this turn (page reload) replaces the message instead of adding one.
      return [{ type: 'start', messageId: `${ev.sid}-${ev.seq}`, messageMetadata }, { type: 'start-step' }];
    }
    const out: UIMessageChunk[] = [];
    switch (ev.type) {
      case 'token':
        if (this.open && this.open.agent !== ev.agent) this.closeText(out);
        if (!this.open) {
          this.open = { id: `t${ev.seq}`, agent: ev.agent };
          out.push({ type: 'text-start', id: this.open.id, ...agentMeta(ev.agent) });
        }
        this.streamed += ev.text;
        out.push({ type: 'text-delta', id: this.open.id, delta: ev.text });
        break;
      case 'message':
        // A streamed agent message ends here; one that was not streamed (tokens) is shown whole.
        if (this.streamed === '' && ev.text !== '' && ev.role === 'assistant') {
          const id = `m${ev.seq}`;
          out.push({ type: 'text-start', id, ...agentMeta(ev.agent) });
          out.push({ type: 'text-delta', id, delta: ev.text });
          out.push({ type: 'text-end', id });
        }
        this.closeText(out);
        this.streamed = '';
        break;
      case 'tool_call':
        this.closeText(out);
        out.push({
          type: 'tool-input-available',
          toolCallId: ev.id,
          toolName: ev.name,
          input: parseJson(ev.arguments),
          dynamic: true,
          ...agentMeta(ev.agent),
        });
        break;
      case 'tool_result':
        this.closeText(out);
        out.push(
          ev.isError
            ? { type: 'tool-output-error', toolCallId: ev.id, errorText: ev.result, dynamic: true }
            : {
                type: 'tool-output-available',
                toolCallId: ev.id,
                output: parseJson(ev.result),
                dynamic: true,
              },
        );
        break;
      case 'usage': {
        const { promptTokens, completionTokens, totalTokens } = ev;
        out.push({
          type: 'message-metadata',
          messageMetadata: { usage: { promptTokens, completionTokens, totalTokens } },
        });
        break;
      }
      case 'input_request':
        this.closeText(out);
        out.push({
          type: 'data-input-request',
          id: ev.requestId,
          data: {
            requestId: ev.requestId,
            prompt: ev.prompt,
            options: ev.options ?? [],
            agent: ev.agent ?? null,
          },
        });
        break;
      case 'restart':
        // A lost worker's partial attempt is discarded (rerun): drop this step's parts, start over.
        if (ev.mode === 'rerun') {
          this.open = null;
          this.streamed = '';
          out.push({ type: 'reset-step' }, { type: 'start-step' });
        }
        break;
      case 'done':
        this.closeText(out);
        out.push({ type: 'finish-step' });
        out.push({
          type: 'finish',
          finishReason: FINISH_REASONS[ev.finishReason] ?? 'other',
          messageMetadata: {
            finishReason: ev.finishReason,
            tokens: ev.tokens,
            durationMs: ev.durationMs,
            lastSeq: ev.seq,
          },
        });
        this.ended = true;
        break;
      case 'error':
        this.closeText(out);
        out.push({ type: 'error', errorText: `${ev.error.code}: ${ev.error.message}` });
        this.ended = true;
        break;
      case 'cancelled':
        this.closeText(out);
        out.push({ type: 'abort', ...(ev.reason ? { reason: ev.reason } : {}) });
        this.ended = true;
        break;
      default:
        break; // user_message of a later turn cannot come before this turn's end; `input` is the user's
    }
    return out;
  }

  private closeText(out: UIMessageChunk[]): void {
    if (!this.open) return;
    out.push({ type: 'text-end', id: this.open.id });
    this.open = null;
  }
}

function agentMeta(agent: string | undefined): { providerMetadata?: { streamfabric: { agent: string } } } {
  return agent
    ? { providerMetadata: { [PROVIDER_KEY]: { agent } } as { streamfabric: { agent: string } } }
    : {};
}
