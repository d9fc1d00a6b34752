/**
 * Jittered exponential backoff for reconnecting sockets: each delay doubles up to a ceiling, and
 * is drawn from its upper half, so clients dropped together do not all come back together.
 *
 * @example
 * const backoff = new Backoff({ initialMs: 100, maxMs: 10_000 });
 * setTimeout(reconnect, backoff.next());   // 50–100 ms, then 100–200 ms, …
 * backoff.reset();                         // once a connection opened
 */
export interface BackoffOptions {
  /** The first delay's ceiling (default 100 ms). */
  initialMs?: number;
  /** The largest delay (default 10,000 ms). */
  maxMs?: number;
}

/** The wait before try `attempt` (0 first): drawn from [d/2, d], d = min(maxMs, initialMs * 2^attempt). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class Backoff {
  #initial: number;
  #max: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 100;
    this.#max = options.maxMs ?? 10_000;
  }

  /** The delay before the next try. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#initial, this.#max);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
