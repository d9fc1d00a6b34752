/**
 * web-client/ as the README's code examples see it (the doc test bundles them against this file
 * instead of `./web-client` or `/edgelog.js`): the same client, except that every Consumer,
 * Subscription and Producer an example starts is remembered, so the test can do what the
 * examples leave for "later" (stop, close) once their output has been seen.
 */
import * as client from "../../web-client";

export * from "../../web-client";

const RUNNING = Symbol.for("edgelog.readme.running");

/** The stop functions of what the README's examples left running (shared through globalThis). */
export function running(): (() => Promise<void> | void)[] {
  const g = globalThis as { [RUNNING]?: (() => Promise<void> | void)[] };
  return (g[RUNNING] ??= []);
}

export class Consumer extends client.Consumer {
  constructor(...args: ConstructorParameters<typeof client.Consumer>) {
    super(...args);
    running().push(() => this.stop());
  }
}

export class Subscription extends client.Subscription {
  constructor(...args: ConstructorParameters<typeof client.Subscription>) {
    super(...args);
    running().push(() => this.close());
  }
}

export class Producer extends client.Producer {
  constructor(...args: ConstructorParameters<typeof client.Producer>) {
    super(...args);
    running().push(() => this.close());
  }
}
