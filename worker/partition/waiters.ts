/**
 * Long-poll: fetches parked until enough data arrives or their wait runs out.
 *
 * A parked fetch costs one timer and one closure; nothing of the log is held. Each append calls
 * `wake()`, which resolves every waiter whose condition now holds (the log grew past its offset
 * by at least its minBytes), so a fetch answers as soon as data arrives rather than at its timeout.
 */
export interface Waiter {
  /** True when the waiter may answer now. */
  ready(): boolean;
  resolve(): void;
}

export class Waiters {
  #waiting = new Set<Waiter>();

  /** Resolves when `ready()` holds after an append, or after `maxWaitMs`, whichever comes first. */
  wait(ready: () => boolean, maxWaitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          this.#waiting.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, maxWaitMs);
      this.#waiting.add(waiter);
    });
  }

  /** Called after every append (and on reset, with `all`). */
  wake(all = false): void {
    if (this.#waiting.size === 0) return;
    for (const waiter of [...this.#waiting]) if (all || waiter.ready()) waiter.resolve();
  }

  get size(): number {
    return this.#waiting.size;
  }
}
