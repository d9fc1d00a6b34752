/**
 * A group consumer: joins a consumer group, reads its assigned partitions from their committed
 * offsets, hands each batch to your handler in order, and commits after it (at-least-once).
 *
 * - The group assigns partitions (server-side). Where a WebSocket exists, every assigned partition
 *   comes over one socket, the group subscription (over-socket.ts), whose server-side session
 *   heartbeats for the member and follows reassignment: a hidden, throttled tab keeps its
 *   partitions while its socket is open. Otherwise, or when no socket can be opened, a heartbeat
 *   loop follows the assignment and each partition is read by long-polled fetches (over-http.ts).
 * - Handlers run one at a time, never for two batches at once.
 * - When a partition is taken away, reading it stops, what was processed is committed, and only
 *   then is it let go: the new owner starts where this one stopped.
 * - Several tabs of one app are several members (each its own member id), sharing one offset
 *   cache: they split the partitions and never fence each other.
 * - A partition with no committed offset starts at the earliest offset (or the latest, with
 *   `autoOffsetReset: "latest"`), as Kafka's auto.offset.reset.
 *
 * @example
 * const consumer = new Consumer({ url: "http://127.0.0.1:8787", groupId: "billing", topics: ["orders"] });
 * await consumer.run({
 *   eachBatch: async ({ topic, partition, records }) => {
 *     for (const r of records) console.log(topic, partition, r.offset, r.value);
 *   },
 * });
 * // elsewhere: await consumer.stop();
 */
import type { TopicPartition } from "../group-subscription";
import type { HttpTransport } from "../http";
import { ConsumerCore } from "./core";
import { overSocket, resolveOptions, type ConsumedBatch, type ConsumerOptions } from "./options";
import { consumeOverHttp } from "./over-http";
import { consumeOverSocket } from "./over-socket";

export class Consumer {
  readonly http: HttpTransport;
  #core: ConsumerCore;
  #stopped: Promise<void> | null = null;

  constructor(options: ConsumerOptions) {
    this.#core = new ConsumerCore(resolveOptions(options));
    this.http = this.#core.http;
  }

  get memberId(): string | null {
    return this.#core.memberId;
  }

  get generation(): number {
    return this.#core.generation;
  }

  /** The partitions this consumer reads now. */
  get assignment(): TopicPartition[] {
    return [...this.#core.owned.values()].filter((o) => !o.stopping).map((o) => o.tp);
  }

  /** Joins and consumes until stop() (resolves) or a handler throws (rejects with its error). */
  async run({ eachBatch }: { eachBatch: (batch: ConsumedBatch) => Promise<void> }): Promise<void> {
    const core = this.#core;
    if (core.running) throw new Error("this consumer is already running");
    core.start(eachBatch);
    let stopped!: () => void;
    this.#stopped = new Promise((r) => (stopped = r));
    try {
      const socket = overSocket(core.options);
      const answer = await core.join();
      if (!socket) await consumeOverHttp(core, answer);
      else if ((await consumeOverSocket(core)) === "fallback") await consumeOverHttp(core, null);
    } catch (err) {
      core.failure ??= err;
    } finally {
      core.running = false;
      // stop() is answered even if letting go failed (its error is run()'s to throw).
      await core
        .shutdown()
        .catch((err) => (core.failure ??= err))
        .finally(stopped);
    }
    if (core.failure) throw core.failure;
  }

  /** Stops: finishes the batch in hand, commits what was processed, leaves the group. */
  async stop(): Promise<void> {
    this.#core.interrupt();
    await this.#stopped;
  }

  /** Commits the position of every owned partition that moved since its last commit. */
  async commit(): Promise<void> {
    await this.#core.commit([...this.#core.owned.values()]);
  }
}
