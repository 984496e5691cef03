/** A hint from the environment that the network may be back (or gone). */
export type NetworkSignal = 'online' | 'offline' | 'visible';

/** Tells the client about connectivity changes; `subscribe` returns an unsubscribe function. */
export interface NetworkSignals {
  subscribe(listener: (signal: NetworkSignal) => void): () => void;
}

interface EventTargetLike {
  addEventListener(type: string, cb: () => void): void;
  removeEventListener(type: string, cb: () => void): void;
}

/**
 * The browser's signals: `online`/`offline` on window and `visibilitychange` on document.
 * Background tabs throttle timers, so a reconnect scheduled while hidden may lag for minutes;
 * when the page becomes visible again, or the network comes back, the client retries at once.
 * Returns `undefined` outside browsers (Node has no such events).
 */
export function browserNetworkSignals(): NetworkSignals | undefined {
  const g = globalThis as unknown as {
    window?: EventTargetLike;
    document?: EventTargetLike & { visibilityState?: string };
  };
  const win = g.window;
  const doc = g.document;
  if (!win?.addEventListener || !doc?.addEventListener) return undefined;
  return {
    subscribe(listener) {
      const online = () => listener('online');
      const offline = () => listener('offline');
      const visibility = () => {
        if (doc.visibilityState === 'visible') listener('visible');
      };
      win.addEventListener('online', online);
      win.addEventListener('offline', offline);
      doc.addEventListener('visibilitychange', visibility);
      return () => {
        win.removeEventListener('online', online);
        win.removeEventListener('offline', offline);
        doc.removeEventListener('visibilitychange', visibility);
      };
    },
  };
}
