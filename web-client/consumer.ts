/**
 * A group consumer: joins a consumer group, reads its assigned partitions from their committed
 * offsets, hands each batch to your handler in order, and commits after it (at-least-once).
 *
 * - The group assigns partitions (server-side); a heartbeat loop follows the assignment.
 * - Each owned partition is read on its own: pushed over a WebSocket where one exists, else by
 *   long-polled binary fetches; handlers run one at a time, never for two batches at once.
 * - When a partition is taken away, its loop stops, what it processed is committed, and only then
 *   does the next heartbeat let it go: the new owner starts where this one stopped.
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
import { EdgelogError } from "../protocol/errors";
import { jsonRecordsFrom, type JsonRecord } from "../protocol/json-record";
import { HttpTransport, type HttpOptions } from "./http";
import { OffsetCache } from "./offset-cache";
import { PUSH_CLOSE, Subscription, type SubscriptionOptions } from "./subscription";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface ConsumerOptions extends HttpOptions {
  groupId: string;
  topics: string[];
  /** Static membership: a member that comes back with the same id within its session timeout keeps its partitions. */
  instanceId?: string;
  sessionTimeoutMs?: number;
  assignor?: "range" | "roundrobin" | "sticky";
  /** Commit after each processed batch (default true). Otherwise call commit() yourself. */
  autoCommit?: boolean;
  /** Where a partition without a committed offset starts (default "earliest"). */
  autoOffsetReset?: "earliest" | "latest";
  /** Bytes per partition fetch (default 1 MiB). */
  maxBytes?: number;
  /** Long-poll wait of a fetch that finds no new records (default 500 ms). */
  maxWaitMs?: number;
  /**
   * Consumed offsets cached in IndexedDB after each processed batch: on start a partition resumes
   * from the newer of the cache and the group's commit (the commit, after an administrator's reset).
   */
  offsetCache?: OffsetCache;
  /**
   * How partitions are read: "websocket" push (the default where a WebSocket exists: browsers,
   * workers, or a constructor passed as `WebSocket`), or "http" long-polling. Push falls back to
   * polling when no socket can be opened.
   */
  transport?: "websocket" | "http";
  /** A WebSocket constructor, for Node (e.g. the `ws` package). */
  WebSocket?: SubscriptionOptions["WebSocket"];
}

export interface ConsumedBatch extends TopicPartition {
  records: JsonRecord[];
  highWatermark: number;
}

interface MemberAnswer {
  memberId: string;
  generation: number;
  assignment: TopicPartition[];
  heartbeatIntervalMs: number;
}

interface Owned {
  tp: TopicPartition;
  position: number;
  committed: number | null;
  /** The group's reset id the position belongs to. */
  resetId: number;
  stopping: boolean;
  abort: AbortController;
  done: Promise<void>;
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Consumer {
  readonly http: HttpTransport;
  #options: Required<Pick<ConsumerOptions, "groupId" | "topics" | "autoCommit" | "autoOffsetReset" | "maxBytes" | "maxWaitMs">> & ConsumerOptions;
  #memberId: string | null = null;
  #generation = 0;
  #heartbeatMs = 3_000;
  #owned = new Map<string, Owned>();
  #running = false;
  #failure: unknown = null;
  #handler: ((batch: ConsumedBatch) => Promise<void>) | null = null;
  #handlerQueue: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;
  #stopped: Promise<void> | null = null;

  constructor(options: ConsumerOptions) {
    if (!options.groupId) throw new TypeError("groupId is required");
    if (!Array.isArray(options.topics) || options.topics.length === 0) throw new TypeError("topics must be a non-empty array");
    this.http = new HttpTransport(options);
    this.#options = { autoCommit: true, autoOffsetReset: "earliest", maxBytes: 1 << 20, maxWaitMs: 500, ...options };
  }

  get memberId(): string | null {
    return this.#memberId;
  }

  get generation(): number {
    return this.#generation;
  }

  /** The partitions this consumer reads now. */
  get assignment(): TopicPartition[] {
    return [...this.#owned.values()].filter((o) => !o.stopping).map((o) => o.tp);
  }

  /** Joins and consumes until stop() (resolves) or a handler throws (rejects with its error). */
  async run({ eachBatch }: { eachBatch: (batch: ConsumedBatch) => Promise<void> }): Promise<void> {
    if (this.#running) throw new Error("this consumer is already running");
    this.#running = true;
    this.#handler = eachBatch;
    let stopped!: () => void;
    this.#stopped = new Promise((r) => (stopped = r));
    try {
      await this.#join();
      while (this.#running) {
        await Promise.race([sleep(this.#heartbeatMs), new Promise<void>((r) => (this.#wake = r))]);
        if (!this.#running) break;
        await this.#heartbeat();
        // Positions a refused (stale-generation) commit left behind go out with the new generation.
        if (this.#options.autoCommit) await this.#commit([...this.#owned.values()]);
      }
    } catch (err) {
      this.#failure ??= err;
    } finally {
      this.#running = false;
      await this.#shutdown();
      stopped();
    }
    if (this.#failure) throw this.#failure;
  }

  /** Stops: finishes the batch in hand, commits what was processed, leaves the group. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    for (const o of this.#owned.values()) o.abort.abort();
    await this.#stopped;
  }

  /** Commits the position of every owned partition that moved since its last commit. */
  async commit(): Promise<void> {
    await this.#commit([...this.#owned.values()]);
  }

  async #join(): Promise<void> {
    const { groupId, topics, instanceId, sessionTimeoutMs, assignor } = this.#options;
    const answer = await this.http.json<MemberAnswer>("POST", `/v1/groups/${encodeURIComponent(groupId)}/members`, {
      topics,
      ...(instanceId ? { instanceId } : {}),
      ...(sessionTimeoutMs ? { sessionTimeoutMs } : {}),
      ...(assignor ? { assignor } : {}),
    });
    this.#memberId = answer.memberId;
    await this.#follow(answer);
  }

  async #heartbeat(): Promise<void> {
    let answer: MemberAnswer;
    try {
      answer = await this.http.json<MemberAnswer>(
        "POST",
        `/v1/groups/${encodeURIComponent(this.#options.groupId)}/members/${encodeURIComponent(this.#memberId!)}/heartbeat`,
      );
    } catch (err) {
      if (err instanceof EdgelogError && (err.code === "UNKNOWN_MEMBER_ID" || err.code === "FENCED_INSTANCE_ID")) {
        // Expired or replaced: everything we held is gone; start over.
        await this.#release([...this.#owned.values()], false);
        return this.#join();
      }
      if (err instanceof EdgelogError && !err.retriable) throw err;
      return; // a transient failure: the next heartbeat retries
    }
    await this.#follow(answer);
  }

  /** Applies an assignment answer: stop and commit what was taken away, start what was given. */
  async #follow(answer: MemberAnswer): Promise<void> {
    this.#generation = answer.generation;
    this.#heartbeatMs = answer.heartbeatIntervalMs;
    const now = new Set(answer.assignment.map(key));
    const revoked = [...this.#owned.values()].filter((o) => !now.has(key(o.tp)));
    if (revoked.length > 0) {
      await this.#release(revoked, this.#options.autoCommit);
      this.#heartbeatMs = 0; // let go of them at once
    }
    const added = answer.assignment.filter((tp) => !this.#owned.has(key(tp)));
    if (added.length > 0) await this.#start(added);
  }

  async #start(tps: TopicPartition[]): Promise<void> {
    const committed = await this.http.json<{ offsets: (TopicPartition & { offset: number; resetId: number })[] }>(
      "GET",
      `/v1/groups/${encodeURIComponent(this.#options.groupId)}/offsets`,
    );
    const byKey = new Map(committed.offsets.map((o) => [key(o), { offset: o.offset, resetId: o.resetId }]));
    const cache = this.#options.offsetCache;
    for (const tp of tps) {
      const commit = byKey.get(key(tp));
      const resumed = OffsetCache.resume(cache ? await cache.get(this.#options.groupId, tp) : undefined, commit);
      const start = resumed?.offset ?? (await this.#resetPosition(tp));
      const owned: Owned = {
        tp,
        position: start,
        committed: commit?.offset ?? null,
        resetId: resumed?.resetId ?? 0,
        stopping: false,
        abort: new AbortController(),
        done: Promise.resolve(),
      };
      owned.done = this.#readLoop(owned);
      this.#owned.set(key(tp), owned);
    }
  }

  async #resetPosition(tp: TopicPartition): Promise<number> {
    const at = this.#options.autoOffsetReset;
    const res = await this.http.json<{ offset: number }>("GET", `/v1/topics/${encodeURIComponent(tp.topic)}/partitions/${tp.partition}/offsets?timestamp=${at}`);
    return res.offset;
  }

  /** Reads one partition until it is taken away or the consumer stops: pushed, or polled. */
  #readLoop(o: Owned): Promise<void> {
    const push = this.#options.transport !== "http" && (this.#options.WebSocket ?? globalThis.WebSocket) !== undefined;
    return push ? this.#pushLoop(o) : this.#pollLoop(o);
  }

  /** Reads one partition with long-polled binary fetches. */
  async #pollLoop(o: Owned): Promise<void> {
    const path = `/v1/topics/${encodeURIComponent(o.tp.topic)}/partitions/${o.tp.partition}/batches`;
    let backoff = 50;
    while (this.#running && !o.stopping) {
      let res: Response;
      try {
        res = await this.http.send("GET", `${path}?offset=${o.position}&maxBytes=${this.#options.maxBytes}&maxWaitMs=${this.#options.maxWaitMs}`, {
          signal: o.abort.signal,
        });
      } catch (err) {
        if (o.stopping || !this.#running) return;
        if (err instanceof EdgelogError && err.code === "OFFSET_OUT_OF_RANGE") {
          o.position = await this.#resetPosition(o.tp);
          continue;
        }
        if (err instanceof EdgelogError && !err.retriable) return this.#fail(err);
        await sleep(backoff + Math.random() * backoff);
        backoff = Math.min(backoff * 2, 2_000);
        continue;
      }
      backoff = 50;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const highWatermark = Number(res.headers.get("edgelog-high-watermark"));
      const records = await jsonRecordsFrom(bytes, o.position, { allowPartialTail: true });
      if (records.length === 0 || o.stopping) continue;
      await this.#handle(o, records, highWatermark);
      if (this.#failure) return;
    }
  }

  /**
   * Reads one partition over WebSocket push (records as they are appended, no polling). When no
   * socket can be opened (a proxy that refuses upgrades), it falls back to long-polling.
   */
  #pushLoop(o: Owned): Promise<void> {
    return new Promise<void>((resolve) => {
      let fellBack = false;
      const subscription = new Subscription({
        url: this.http.url,
        token: this.#options.token,
        topic: o.tp.topic,
        partition: o.tp.partition,
        offset: o.position,
        WebSocket: this.#options.WebSocket,
        maxFailedConnects: 3,
        onRecords: async (records, info) => {
          if (o.stopping || !this.#running) return;
          await this.#handle(o, records.filter((r) => r.offset >= o.position), info.highWatermark);
        },
        onEnd: ({ code }) => {
          if (code === PUSH_CLOSE.unreachable && !o.stopping && this.#running) {
            fellBack = true;
            this.#pollLoop(o).then(resolve);
          } else resolve();
        },
      });
      o.abort.signal.addEventListener("abort", () => {
        if (!fellBack) subscription.close();
      });
      subscription.start();
    });
  }

  /** Hands a batch to the handler (one at a time), moves the position, caches it, commits. */
  async #handle(o: Owned, records: JsonRecord[], highWatermark: number): Promise<void> {
    if (records.length === 0) return;
    await this.#serialized(async () => {
      if (o.stopping) return; // taken away while queued: the new owner reads it from the commit
      await this.#handler!({ topic: o.tp.topic, partition: o.tp.partition, records, highWatermark });
      o.position = records[records.length - 1].offset + 1;
      await this.#options.offsetCache?.put(this.#options.groupId, o.tp, { offset: o.position, resetId: o.resetId });
    }).catch((err) => this.#fail(err));
    if (this.#failure) return;
    if (this.#options.autoCommit) await this.#commit([o]).catch((err) => this.#fail(err));
  }

  /** Runs handlers one at a time, in the order batches arrive. */
  #serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.#handlerQueue.then(fn);
    this.#handlerQueue = next.catch(() => {});
    return next;
  }

  #fail(err: unknown): void {
    this.#failure ??= err;
    this.#running = false;
    this.#wake?.();
    for (const o of this.#owned.values()) o.abort.abort();
  }

  /**
   * Commits positions that moved. On a stale generation it asks the heartbeat loop for an
   * immediate heartbeat and leaves the positions for the next commit: only that loop may
   * heartbeat, because a heartbeat releases what the previous answer took away, and the client
   * must have committed those partitions first.
   */
  async #commit(owned: Owned[]): Promise<void> {
    const moved = owned.filter((o) => o.position !== o.committed);
    if (moved.length === 0 || this.#memberId === null) return;
    const offsets = moved.map((o) => ({ topic: o.tp.topic, partition: o.tp.partition, offset: o.position }));
    try {
      await this.http.json("POST", `/v1/groups/${encodeURIComponent(this.#options.groupId)}/offsets`, {
        memberId: this.#memberId,
        generation: this.#generation,
        offsets,
      });
      moved.forEach((o, i) => (o.committed = offsets[i].offset));
    } catch (err) {
      if (err instanceof EdgelogError && err.code === "ILLEGAL_GENERATION") {
        this.#heartbeatMs = 0;
        this.#wake?.();
        return;
      }
      // Not ours any more (or we left): the new owner re-reads from the last commit: at-least-once.
      if (err instanceof EdgelogError && ["REBALANCE_IN_PROGRESS", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID", "ILLEGAL_GENERATION"].includes(err.code)) return;
      throw err;
    }
  }

  /** Stops the loops of `owned`, waits for their batch in hand, commits them if asked, forgets them. */
  async #release(owned: Owned[], commit: boolean): Promise<void> {
    for (const o of owned) {
      o.stopping = true;
      o.abort.abort();
    }
    await Promise.all(owned.map((o) => o.done));
    await this.#handlerQueue; // a batch already in the handler finishes (and moves its position) first
    if (commit) await this.#commit(owned).catch(() => {});
    for (const o of owned) this.#owned.delete(key(o.tp));
  }

  async #shutdown(): Promise<void> {
    try {
      await this.#release([...this.#owned.values()], this.#options.autoCommit && !this.#failure);
      if (this.#memberId !== null) {
        await this.http
          .send("DELETE", `/v1/groups/${encodeURIComponent(this.#options.groupId)}/members/${encodeURIComponent(this.#memberId)}`)
          .catch(() => {});
      }
    } finally {
      this.#memberId = null;
    }
  }
}
