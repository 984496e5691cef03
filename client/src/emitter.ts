/** Rethrows a listener's exception outside the dispatch loop: one bad callback must not stop the stream. */
export function reportLater(err: unknown): void {
  setTimeout(() => {
    throw err;
  }, 0);
}

/** A minimal typed event emitter; a throwing listener never stops the others. */
export class Emitter<E extends { [K in keyof E]: (...args: never[]) => void }> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, cb: E[K]): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(cb);
    return () => set.delete(cb);
  }

  emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    for (const cb of this.handlers.get(event) ?? []) {
      try {
        (cb as (...a: Parameters<E[K]>) => void)(...args);
      } catch (err) {
        reportLater(err);
      }
    }
  }
}
