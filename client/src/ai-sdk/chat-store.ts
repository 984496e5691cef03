import type { StorageLike } from '../session-store.js';

/**
 * What a chat needs to survive a page reload: its session id, the seq of its current turn's
 * `user_message` (a reconnect replays the turn from there, which rebuilds the whole assistant
 * message exactly) and whether that turn was seen to end. Written at a turn's start and end,
 * never per token: a synchronous storage write per token would cost more than the replay.
 */
export interface ChatRecord {
  sid: string;
  turnSeq: number;
  ended: boolean;
}

/** chatId -> {@link ChatRecord} in one JSON object under `key`. Never throws (storage may be full or disabled). */
export class ChatStore {
  constructor(
    private readonly storage: StorageLike | null,
    private readonly key: string,
  ) {}

  get(chatId: string): ChatRecord | undefined {
    const r = this.all()[chatId];
    return r && typeof r.sid === 'string' && typeof r.turnSeq === 'number' ? r : undefined;
  }

  put(chatId: string, rec: ChatRecord): void {
    this.write({ ...this.all(), [chatId]: rec });
  }

  remove(chatId: string): void {
    const all = this.all();
    delete all[chatId];
    this.write(all);
  }

  private all(): Record<string, ChatRecord> {
    try {
      const v: unknown = JSON.parse(this.storage?.getItem(this.key) ?? '{}');
      return typeof v === 'object' && v !== null && !Array.isArray(v)
        ? (v as Record<string, ChatRecord>)
        : {};
    } catch {
      return {};
    }
  }

  private write(all: Record<string, ChatRecord>): void {
    try {
      this.storage?.setItem(this.key, JSON.stringify(all));
    } catch {
      // Quota or disabled storage: the chat still works, it just cannot be resumed after a reload.
    }
  }
}
