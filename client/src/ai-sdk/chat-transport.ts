import type { ChatTransport, UIMessage, UIMessageChunk } from 'ai';
import type { SessionOptions } from '../../../shared/protocol/options.js';
import { StreamFabricClient } from '../client.js';
import type { StreamFabricError } from '../errors.js';
import type { StreamSession } from '../session.js';
import type { StorageLike } from '../session-store.js';
import type { ClientOptions } from '../types.js';
import { ChatStore } from './chat-store.js';
import { TurnChunks } from './ui-chunks.js';

/** Options of {@link StreamFabricChatTransport}: a client (or what to build one from), the agent and storage. */
export interface ChatTransportOptions extends Partial<Omit<ClientOptions, 'persist'>> {
  /** Use this client (its connection is shared); otherwise one is made from `url` and the other client options. */
  client?: StreamFabricClient;
  /** The agent (worker pool) a new chat starts on. Default `builtin`; a request's `body.agent` overrides it. */
  agent?: string;
  /** Session options of a new chat; a request's `body.options` overrides them. */
  options?: SessionOptions;
  /**
   * Where chat -> session records are kept so `reconnectToStream` works after a page reload.
   * Default `sessionStorage` when there is one (per tab); `false` keeps them in memory only.
   */
  storage?: StorageLike | false;
  /** Storage key. Default `streamfabric.ai-sdk`. */
  storageKey?: string;
}

/** What a request's `body` may carry (`sendMessage(msg, { body: { agent, options } })`). */
interface RequestBody {
  agent?: unknown;
  options?: unknown;
}

function lastUserText(messages: UIMessage[]): string {
  const m = messages.findLast((x) => x.role === 'user');
  return (m?.parts ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('');
}

/** Resolves once the session's turn through `minSeq` has ended, or the session was refused. */
function settled(session: StreamSession, minSeq: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (session.error || (session.finished && session.lastSeq >= minSeq)) {
        off();
        resolve();
      }
    };
    const off = session.on('*', check);
    session.finishedEvent().then(check, check);
    check();
  });
}

function errorText(err: unknown): string {
  const e = err as Partial<StreamFabricError>;
  return e?.code ? `${e.code}: ${e.message}` : String((err as Error)?.message ?? err);
}

/**
 * A `ChatTransport` for the AI SDK's `useChat` over StreamFabric. Each chat is one StreamFabric
 * session (a conversation): the first message starts it, later ones are follow-up turns. The
 * answer streams as UI message chunks (text, tool calls and results, each team agent's messages
 * as their own text parts, errors, finish) and survives dropped connections and gateway deaths
 * without a gap (the client resumes from its last seq on any gateway). After a page reload,
 * `useChat({ resume: true })` calls {@link reconnectToStream}, which replays the unfinished turn
 * from the log, so the message is rebuilt whole. `stop()` cancels the turn on the worker.
 * @example
 * const transport = new StreamFabricChatTransport({ url: 'ws://localhost:8080/v1/ws' });
 * const { messages, sendMessage, stop } = useChat({ id: 'chat-1', transport, resume: true });
 */
export class StreamFabricChatTransport<UI_MESSAGE extends UIMessage = UIMessage>
  implements ChatTransport<UI_MESSAGE>
{
  /** A reconnect replays the whole turn: the SDK resets the message on its first `start`. */
  readonly resumeStreamIsReplay = true;
  /** The StreamFabric client underneath (for `state`, `gateway`, `dropConnection()` ...). */
  readonly client: StreamFabricClient;
  private readonly ownsClient: boolean;
  private readonly chats = new Map<string, StreamSession>();
  private readonly store: ChatStore;

  constructor(private readonly opts: ChatTransportOptions) {
    const { client, agent: _a, options: _o, storage, storageKey, ...clientOptions } = opts;
    if (!client && !clientOptions.url)
      throw new TypeError('StreamFabricChatTransport needs `client` or `url`');
    this.ownsClient = !client;
    this.client = client ?? new StreamFabricClient(clientOptions as ClientOptions);
    const tabStorage = (globalThis as { sessionStorage?: StorageLike }).sessionStorage ?? null;
    this.store = new ChatStore(
      storage === false ? null : (storage ?? tabStorage),
      storageKey ?? 'streamfabric.ai-sdk',
    );
  }

  /** The session id behind a chat, when it has one (to show, share or resume elsewhere). */
  sessionId(chatId: string): string | undefined {
    return this.chats.get(chatId)?.sid ?? this.store.get(chatId)?.sid;
  }

  async sendMessages(
    req: Parameters<ChatTransport<UI_MESSAGE>['sendMessages']>[0],
  ): Promise<ReadableStream<UIMessageChunk>> {
    const { chatId, messages, abortSignal } = req;
    const body = (req.body ?? {}) as RequestBody;
    const input = lastUserText(messages);
    let session = this.chats.get(chatId) ?? (await this.reattach(chatId));
    // A stopped turn ends with `cancelled` a moment after Stop: send the next turn after it.
    if (session) await settled(session, 0);
    if (session?.error) {
      // The gateway refused this chat's session (bad options, expired): the next message starts a new one.
      this.chats.delete(chatId);
      this.store.remove(chatId);
      session = undefined;
    }
    if (!session) {
      const started = await this.client.start({
        input,
        agent: typeof body.agent === 'string' ? body.agent : (this.opts.agent ?? 'builtin'),
        ...(body.options || this.opts.options
          ? { options: (body.options as SessionOptions) ?? this.opts.options }
          : {}),
      });
      this.chats.set(chatId, started);
      return this.follow(chatId, started, 0, abortSignal);
    }
    // A follow-up turn (regenerate sends the last user message again as a new turn: the log is append-only).
    const stream = this.follow(chatId, session, session.lastSeq, abortSignal);
    session.send(input).catch((err: unknown) => this.failures.get(session)?.(err));
    return stream;
  }

  async reconnectToStream(
    req: Parameters<ChatTransport<UI_MESSAGE>['reconnectToStream']>[0],
  ): Promise<ReadableStream<UIMessageChunk> | null> {
    const { chatId, abortSignal } = req;
    const generation = (this.resumes.get(chatId) ?? 0) + 1;
    this.resumes.set(chatId, generation);
    const live = this.chats.get(chatId);
    if (live) {
      if (live.finished) return null;
      const opening = live.events.findLast((e) => e.type === 'user_message');
      return this.follow(chatId, live, (opening?.seq ?? 1) - 1, abortSignal, generation);
    }
    const rec = this.store.get(chatId);
    if (!rec || rec.ended) return null;
    // Replay from the session's first event: the client then knows the whole conversation (turn
    // numbers for follow-ups); the stream itself starts at the unfinished turn's user_message.
    const session = await this.client.resume(rec.sid, 0);
    this.chats.set(chatId, session);
    return this.follow(chatId, session, rec.turnSeq - 1, abortSignal, generation);
  }

  /**
   * Answers an agent's question (a `data-input-request` part) in a chat; the turn then goes on.
   * @example transport.answer(chatId, part.data.requestId, 'Oslo');
   */
  answer(chatId: string, requestId: string, text: string): void {
    this.chats.get(chatId)?.answer(requestId, text);
  }

  /** Closes the client when this transport made it. */
  close(): void {
    if (this.ownsClient) this.client.close();
  }

  /**
   * Resume requests per chat. The SDK aborts a resume when a newer one replaces it (React
   * StrictMode mounts twice), calling `reconnectToStream` right after the abort: that abort is
   * not the user's Stop and must not cancel the turn.
   */
  private readonly resumes = new Map<string, number>();

  /** Sessions whose current stream should fail (a refused follow-up turn). */
  private readonly failures = new Map<StreamSession, (err: unknown) => void>();

  /** After a reload: follow the stored session again and wait until its current turn has ended. */
  private async reattach(chatId: string): Promise<StreamSession | undefined> {
    const rec = this.store.get(chatId);
    if (!rec) return undefined;
    const session = await this.client.resume(rec.sid, 0);
    await settled(session, rec.turnSeq);
    if (session.error) {
      this.store.remove(chatId); // expired or forbidden: start a new session for this chat
      this.client.forget(rec.sid);
      return undefined;
    }
    this.chats.set(chatId, session);
    return session;
  }

  /** The UI chunks of the turn after `after`, live, until its terminal event. */
  private follow(
    chatId: string,
    session: StreamSession,
    after: number,
    signal: AbortSignal | undefined,
    /** For a resume: its number, to tell a replaced resume from the user's Stop. */
    generation?: number,
  ): ReadableStream<UIMessageChunk> {
    const turn = new TurnChunks(after);
    const store = this.store;
    let i = 0;
    let closed = false;
    let off = () => {};
    const stop = () => {
      closed = true;
      off();
      signal?.removeEventListener('abort', onAbort);
      if (this.failures.get(session) === fail) this.failures.delete(session);
    };
    let fail = (_err: unknown) => {};
    const onAbort = () => {
      stop();
      queueMicrotask(() => {
        const replaced = generation !== undefined && this.resumes.get(chatId) !== generation;
        if (turn.ended || replaced) return;
        // Stop means cancel: the worker aborts the model call and the log ends the turn with `cancelled`.
        session.cancel();
        if (turn.turnSeq) store.put(chatId, { sid: session.sid, turnSeq: turn.turnSeq, ended: true });
      });
    };
    return new ReadableStream<UIMessageChunk>({
      start: (controller) => {
        fail = (err) => {
          if (closed) return;
          controller.enqueue({ type: 'error', errorText: errorText(err) });
          stop();
          controller.close();
        };
        this.failures.set(session, fail);
        const drain = () => {
          if (closed) return;
          const opened = turn.turnSeq;
          while (i < session.events.length && !turn.ended) {
            for (const chunk of turn.push(session.events[i++]!)) controller.enqueue(chunk);
          }
          if (turn.turnSeq && (turn.ended || !opened)) {
            store.put(chatId, { sid: session.sid, turnSeq: turn.turnSeq, ended: turn.ended });
          }
          if (turn.ended) {
            stop();
            controller.close();
          }
        };
        // A session the gateway refused (expired, forbidden, bad options) or a client closed for
        // good ends without an event: the client reports it as an `error` or a `closed` state.
        const refused = () => queueMicrotask(() => session.error && fail(session.error));
        const offs = [
          session.on('*', drain),
          this.client.on('error', refused),
          this.client.on('state', (st) => st === 'closed' && refused()),
        ];
        off = () => {
          for (const o of offs) o();
        };
        refused();
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
        drain();
      },
      cancel: () => stop(),
    });
  }
}
