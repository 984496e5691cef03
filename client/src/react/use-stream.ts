import { useCallback, useEffect, useState } from 'react';
import type { SessionEvent } from '../../../shared/protocol/events.js';
import type { StreamFabricClient } from '../client.js';
import { StreamFabricError } from '../errors.js';
import type { StreamSession } from '../session.js';
import type { StartOptions } from '../types.js';

/** Where a stream is: nothing yet, receiving, or ended (by `done`, `cancelled` or an error). */
export type StreamStatus = 'idle' | 'streaming' | 'done' | 'cancelled' | 'error';

/** What {@link useStream} returns. */
export interface UseStreamResult {
  /** The answer so far (rebuilt from the log after a resume). */
  text: string;
  status: StreamStatus;
  /** Every event of the current session, in seq order (read-only: the session's own array). */
  events: readonly SessionEvent[];
  /** The last seq received. */
  seq: number;
  error: StreamFabricError | null;
  /** The current session (its `sid` is what you keep to resume later). */
  session: StreamSession | null;
  /** Starts a new session; the previous one is left running (cancel it first if you want). */
  start(request: StartOptions): Promise<void>;
  /** Follows an existing session: its conversation snapshot, then the events after it. */
  resume(sid: string): Promise<void>;
  /** Cancels the current session. */
  cancel(): void;
}

interface Snapshot {
  text: string;
  status: StreamStatus;
  events: readonly SessionEvent[];
  /** The last seq rendered: changes whenever `events` grows (which is the session's own array). */
  seq: number;
  error: StreamFabricError | null;
}

const IDLE: Snapshot = { text: '', status: 'idle', events: [], seq: 0, error: null };

function statusOf(ev: SessionEvent): StreamStatus {
  if (ev.type === 'done') return 'done';
  if (ev.type === 'cancelled') return 'cancelled';
  if (ev.type === 'error') return 'error';
  return 'streaming';
}

/**
 * Streams one session into React state: re-renders at most once per animation frame however
 * fast tokens arrive, and unsubscribes on unmount or when the session changes. The connection
 * belongs to the client you pass (create it once, outside the component). Pass `{ sid }` to
 * follow an existing session (e.g. one restored after a reload) from its first event.
 * @example
 * const client = new StreamFabricClient({ url: 'ws://localhost:8080/v1/ws' });
 * function Answer() {
 *   const { text, status, start, cancel } = useStream(client);
 *   return <div>
 *     <button onClick={() => start({ input: 'Hello' })}>Ask</button>
 *     {status === 'streaming' && <button onClick={cancel}>Stop</button>}
 *     <p>{text}</p>
 *   </div>;
 * }
 */
export function useStream(client: StreamFabricClient, options: { sid?: string } = {}): UseStreamResult {
  const [session, setSession] = useState<StreamSession | null>(null);
  const [snap, setSnap] = useState<Snapshot>(IDLE);
  useEffect(() => {
    if (!session) return;
    let scheduled = false;
    let live = true;
    const update = () => {
      scheduled = false;
      if (!live) return;
      const last = session.events.at(-1);
      setSnap({
        text: session.currentText,
        status: session.error ? 'error' : last ? statusOf(last) : 'streaming',
        events: session.events,
        seq: session.lastSeq,
        error: session.error,
      });
    };
    // Tokens arrive in bursts: render at most once per frame, not once per event.
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => number })
        .requestAnimationFrame;
      if (raf) raf(update);
      else setTimeout(update, 16);
    };
    update();
    const off = session.on('*', schedule);
    // A rewritten log (log_rewritten) empties the session before its events arrive again.
    const offRewritten = session.onRewritten(schedule);
    // A refused session (expired, forbidden) has no event: its terminal promise tells.
    void session.finishedEvent().then(schedule);
    return () => {
      live = false;
      off();
      offRewritten();
    };
  }, [session]);

  const start = useCallback(
    async (request: StartOptions) => {
      setSnap({ ...IDLE, status: 'streaming' });
      try {
        setSession(await client.start(request));
      } catch (err) {
        setSnap({ ...IDLE, status: 'error', error: toError(err) });
      }
    },
    [client],
  );

  const resume = useCallback(
    async (sid: string) => {
      setSnap({ ...IDLE, status: 'streaming' });
      try {
        // A new device (or a reload) opens a long conversation from its snapshot, not from seq 1.
        setSession(await client.resume(sid, 0, { snapshot: true }));
      } catch (err) {
        setSnap({ ...IDLE, status: 'error', error: toError(err) });
      }
    },
    [client],
  );

  const { sid } = options;
  useEffect(() => {
    if (sid) void resume(sid);
  }, [sid, resume]);

  const cancel = useCallback(() => session?.cancel(), [session]);
  return { ...snap, session, start, resume, cancel };
}

function toError(err: unknown): StreamFabricError {
  return err instanceof StreamFabricError
    ? err
    : new StreamFabricError({ code: 'internal', message: String(err), retryable: false }, { cause: err });
}
