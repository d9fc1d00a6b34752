/**
 * The drain lock: two tabs never drain one outbox at once. It is the Web Lock of that name
 * (navigator.locks) when there is one, and otherwise (Node) an in-process mutex per name.
 */

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

const localLocks = new Map<string, Promise<void>>();

/** Runs `fn` holding the lock `name`. */
export async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  if (locks) return locks.request(name, fn);
  const previous = localLocks.get(name) ?? Promise.resolve();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const mine = previous.then(() => released);
  localLocks.set(name, mine);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (localLocks.get(name) === mine) localLocks.delete(name);
  }
}
