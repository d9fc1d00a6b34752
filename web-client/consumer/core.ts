/**
 * What both transports of the consumer share: the membership (member id, generation), the
 * partitions it owns with their positions, and the four things done to them: take one (from the
 * cache and the commit), hand a batch to the handler, commit, and let go.
 *
 * Handlers run one at a time, in the order batches arrive. A partition is let go of only after
 * the batch in hand is done and (when asked) its position committed: the new owner starts there.
 */
import { EdgelogError } from "../../protocol/errors";
import type { JsonRecord } from "../../protocol/json-record";
import { tpKey } from "../../protocol/wire";
import type { TopicPartition } from "../group-subscription";
import type { ListOffsetsAnswer, MemberAnswer } from "../api-types";
import { HttpTransport, isRetriable } from "../http";
import { OffsetCache, type CachedOffset } from "../offset-cache";
import type { ConsumedBatch, ResolvedOptions } from "./options";

export type { MemberAnswer };

export interface Owned {
  tp: TopicPartition;
  /** The next offset to hand to the handler. */
  position: number;
  committed: number | null;
  /** The group's reset id the position belongs to. */
  resetId: number;
  stopping: boolean;
  /** Aborts the partition's reads (long-poll transport). */
  abort: AbortController;
  /** Settles when the partition's read loop is over (long-poll transport). */
  done: Promise<void>;
}

export { tpKey } from "../../protocol/wire";

export class ConsumerCore {
  readonly http: HttpTransport;
  readonly options: ResolvedOptions;
  memberId: string | null = null;
  generation = 0;
  running = false;
  failure: unknown = null;
  readonly owned = new Map<string, Owned>();
  /** A commit was refused for a stale generation (the transport learns the new one). */
  onStaleGeneration: () => void = () => {};
  #handler: ((batch: ConsumedBatch) => Promise<void>) | null = null;
  #handlerQueue: Promise<void> = Promise.resolve();
  #interrupts = new Set<() => void>();

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.http = new HttpTransport(options);
  }

  get #group(): string {
    return `/v1/groups/${encodeURIComponent(this.options.groupId)}`;
  }

  start(handler: (batch: ConsumedBatch) => Promise<void>): void {
    this.running = true;
    this.#handler = handler;
  }

  /** Registers what stop() or a failure must wake or close; answers how to unregister it. */
  onInterrupt(fn: () => void): () => void {
    this.#interrupts.add(fn);
    return () => this.#interrupts.delete(fn);
  }

  /** Stops: every wait is woken, every read aborted. */
  interrupt(): void {
    this.running = false;
    for (const fn of this.#interrupts) fn();
    for (const o of this.owned.values()) o.abort.abort();
  }

  /** Fails the consumer: run() rejects with the first such error, after letting go of everything. */
  fail(err: unknown): void {
    this.failure ??= err;
    this.interrupt();
  }

  /** An error the consumer recovers from by itself (it retries): told to onError, never thrown. */
  report(err: unknown): void {
    try {
      this.options.onError?.(err);
    } catch {
      // a throwing onError must not break the loop that reported to it
    }
  }

  /** Joins as a new member. */
  async join(): Promise<MemberAnswer> {
    const { topics, instanceId, sessionTimeoutMs, assignor } = this.options;
    const answer = await this.http.json<MemberAnswer>("POST", `${this.#group}/members`, {
      topics,
      ...(instanceId ? { instanceId } : {}),
      ...(sessionTimeoutMs ? { sessionTimeoutMs } : {}),
      ...(assignor ? { assignor } : {}),
    });
    this.memberId = answer.memberId;
    this.generation = answer.generation;
    return answer;
  }

  /**
   * Takes a partition: it starts at the newer of the cached offset and the group's commit (the
   * commit, after an administrator's reset the cache has not seen), else at autoOffsetReset.
   */
  async own(tp: TopicPartition, commit: CachedOffset | undefined): Promise<Owned> {
    const cache = this.options.offsetCache;
    const resumed = OffsetCache.resume(cache ? await cache.get(this.options.groupId, tp) : undefined, commit);
    const owned: Owned = {
      tp,
      position: resumed?.offset ?? (await this.resetPosition(tp)),
      committed: commit?.offset ?? null,
      resetId: resumed?.resetId ?? 0,
      stopping: false,
      abort: new AbortController(),
      done: Promise.resolve(),
    };
    this.owned.set(tpKey(tp), owned);
    return owned;
  }

  /** Where autoOffsetReset puts a partition now. */
  async resetPosition(tp: TopicPartition): Promise<number> {
    const at = this.options.autoOffsetReset;
    const res = await this.http.json<ListOffsetsAnswer>(
      "GET",
      `/v1/topics/${encodeURIComponent(tp.topic)}/partitions/${tp.partition}/offsets?timestamp=${at}`,
    );
    // earliest and latest always name an offset (only a timestamp can find none).
    return res.offset as number;
  }

  /**
   * Hands a batch to the handler (one at a time), moves the position, caches it, commits. The
   * position goes to `nextOffset` when the read names it (it passes offsets compaction removed
   * after the last record, so a consumer at the end commits the high watermark: lag 0).
   */
  async handle(o: Owned, records: JsonRecord[], highWatermark: number, nextOffset = 0): Promise<void> {
    if (records.length === 0) return;
    await this.#serialized(async () => {
      if (o.stopping) return; // taken away while queued: the new owner reads it from the commit
      await this.#handler!({ topic: o.tp.topic, partition: o.tp.partition, records, highWatermark });
      o.position = Math.max(records[records.length - 1].offset + 1, nextOffset);
      await this.options.offsetCache?.put(this.options.groupId, o.tp, { offset: o.position, resetId: o.resetId });
    }).catch((err) => this.fail(err));
    if (this.failure) return;
    if (this.options.autoCommit) await this.commit([o]).catch((err) => this.fail(err));
  }

  /**
   * Commits positions that moved. A refusal or failure leaves them for the next commit (the next
   * batch, assignment or heartbeat); only what is not the server's doing is thrown:
   *   - a stale generation: onStaleGeneration (the transport learns the new one);
   *   - a partition not ours any more, or a member gone: the new owner re-reads from the last
   *     commit (at-least-once);
   *   - the server unreachable or overloaded: later.
   */
  async commit(owned: Owned[]): Promise<void> {
    const moved = owned.filter((o) => o.position !== o.committed);
    if (moved.length === 0 || this.memberId === null) return;
    const offsets = moved.map((o) => ({ topic: o.tp.topic, partition: o.tp.partition, offset: o.position }));
    try {
      await this.http.json("POST", `${this.#group}/offsets`, { memberId: this.memberId, generation: this.generation, offsets });
      moved.forEach((o, i) => (o.committed = offsets[i].offset));
    } catch (err) {
      if (err instanceof EdgelogError && err.code === "ILLEGAL_GENERATION") return this.onStaleGeneration();
      if (err instanceof EdgelogError && ["REBALANCE_IN_PROGRESS", "UNKNOWN_MEMBER_ID", "FENCED_INSTANCE_ID"].includes(err.code)) return;
      if (isRetriable(err)) return;
      throw err;
    }
  }

  /** Stops reading `owned`, waits for the batch in hand, commits them if asked, forgets them. */
  async release(owned: Owned[], commit: boolean): Promise<void> {
    for (const o of owned) {
      o.stopping = true;
      o.abort.abort();
    }
    await Promise.all(owned.map((o) => o.done));
    await this.#handlerQueue; // a batch already in the handler finishes (and moves its position) first
    if (commit) await this.commit(owned).catch(() => {});
    for (const o of owned) this.owned.delete(tpKey(o.tp));
  }

  /** The owned partitions an assignment no longer lists. */
  revokedBy(assignment: TopicPartition[]): Owned[] {
    const now = new Set(assignment.map(tpKey));
    return [...this.owned.values()].filter((o) => !now.has(tpKey(o.tp)));
  }

  /** Commits what was processed (unless a handler failed) and leaves the group. */
  async shutdown(): Promise<void> {
    try {
      await this.release([...this.owned.values()], this.options.autoCommit && !this.failure);
      if (this.memberId !== null) {
        await this.http.send("DELETE", `${this.#group}/members/${encodeURIComponent(this.memberId)}`).catch(() => {});
      }
    } finally {
      this.memberId = null;
    }
  }

  /** Runs handlers one at a time, in the order batches arrive. */
  #serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.#handlerQueue.then(fn);
    this.#handlerQueue = next.catch(() => {});
    return next;
  }
}
