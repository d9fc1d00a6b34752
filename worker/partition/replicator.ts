/**
 * The leader's side of replication: ship every batch to each follower in order, move the high
 * watermark when the in-sync set has it, and keep that set honest.
 *
 * - Each follower has one call in flight at a time, so its batches arrive in order; a call
 *   carries every batch appended since the last (up to REPLICATION_BYTES), so throughput comes
 *   from batching, not from calls.
 * - The first call to a follower (and the first after any refusal or error) is a handshake,
 *   `follow`: the follower adopts this leader's epoch, truncates whatever suffix diverges from
 *   this log (by leader epoch, KIP-101) and answers its log end, from where batches then flow.
 * - The high watermark is the smallest log end among the in-sync replicas: a record below it is
 *   on every one of them, so any of them may become leader without losing it.
 * - A follower that has not caught up with the log end for `replica.lag.time.max.ms` (it failed,
 *   or is too slow) is removed from the in-sync set; one out of it that reaches the high
 *   watermark is added back. Both changes go through the controller, which refuses them from a
 *   leader of an old epoch, and take effect here only once it agreed, so the controller never
 *   elects a replica this leader stopped waiting for.
 * - Compaction (cleaner.ts) runs on the leader only; its followers take its result. Each
 *   follower answers its compaction state (the generation of the last pass it took, and how far
 *   it reached); one whose generation is not the leader's, once caught up, is sent every batch
 *   the leader stores in [log start, max(its clean offset, the leader's)), in ranges of up to
 *   REPLICATION_BYTES, and makes its own batches there the same (takeCompacted): changed,
 *   removed, or restored where it had compacted further while it led. The last range records
 *   the leader's generation, so afterwards both logs hold the same bytes at the same offsets. A
 *   pass that ends mid-sync starts the sync again.
 * - Followers that are behind are retried with backoff (and by the object's alarm when the
 *   object was restarted), so a follower that comes back catches up with no new writes needed.
 */
import type { Outcome } from "../outcome";
import type { PartitionLog } from "./log";
import type { FollowerPosition, FollowRequest, ReplicateRequest } from "./types";

/** The most bytes one replicate call carries. */
export const REPLICATION_BYTES = 4 * 1024 * 1024;
const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 1_000;
/** How long a follower may go without hearing of a new high watermark when no batches flow. */
const WATERMARK_DELAY_MS = 20;

/** What the replicator needs from its object: the followers' stubs, the controller, and callbacks. */
export interface ReplicatorHost {
  follow(replica: number, request: FollowRequest): Promise<Outcome<FollowerPosition>>;
  replicate(replica: number, request: ReplicateRequest): Promise<Outcome<FollowerPosition>>;
  /** Asks the controller to change the in-sync set; answers the set it recorded. */
  alterIsr(isr: number[]): Promise<Outcome<{ isr: number[] }>>;
  /** The high watermark or the in-sync set moved: wake fetches, pushes and acks=all appends. */
  changed(): void;
  /** A follower or the controller knows a newer epoch: this leader is stale and must stop leading. */
  fenced(): void;
  /** False while a fault makes this replica unreachable: it does nothing then. */
  healthy(): boolean;
}

interface Progress {
  /** The follower's log end, as it last answered; null until a handshake answered. */
  logEnd: number | null;
  /** The high watermark the follower was last told. */
  sentWatermark: number;
  inFlight: boolean;
  /** The last time the follower held the whole log (Kafka's lastCaughtUpTimeMs). */
  caughtUpAt: number;
  failures: number;
  retry: ReturnType<typeof setTimeout> | null;
  /** The follower's compaction state, as it last answered (null: not known). */
  cleanGen: string | null;
  cleanOffset: number;
  /** A compaction sync under way: the leader generation it ships, and the range still to go. */
  sync: { gen: string; from: number; to: number } | null;
}

export class Replicator {
  #log: PartitionLog;
  #host: ReplicatorHost;
  #progress = new Map<number, Progress>();
  /** The log end when followers last heard of an append (to tell who was caught up before it). */
  #knownEnd = 0;
  #lagTimer: ReturnType<typeof setTimeout> | null = null;
  #watermarkTimer: ReturnType<typeof setTimeout> | null = null;
  #isrChange: Promise<void> | null = null;
  /**
   * Followers being added to the in-sync set: the controller may record them before its answer
   * arrives, so from the moment of asking the watermark waits for them too (as Kafka's does).
   */
  #joining = new Set<number>();
  #active = false;

  constructor(log: PartitionLog, host: ReplicatorHost) {
    this.#log = log;
    this.#host = host;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Starts leading: every follower gets a handshake first. Idempotent. */
  start(now: number): void {
    if (this.#active) return;
    this.#active = true;
    const { replica, replicas } = this.#log.owner;
    this.#knownEnd = this.#log.logEndOffset;
    for (const r of replicas) {
      if (r === replica) continue;
      this.#progress.set(r, {
        logEnd: null,
        sentWatermark: -1,
        inFlight: false,
        caughtUpAt: now,
        failures: 0,
        retry: null,
        cleanGen: null,
        cleanOffset: 0,
        sync: null,
      });
    }
    this.#pumpAll();
    this.#scheduleLagCheck(now);
  }

  /** Stops leading (fenced, or told to follow). */
  stop(): void {
    this.#active = false;
    for (const p of this.#progress.values()) if (p.retry) clearTimeout(p.retry);
    this.#progress.clear();
    this.#joining.clear();
    if (this.#lagTimer) clearTimeout(this.#lagTimer);
    if (this.#watermarkTimer) clearTimeout(this.#watermarkTimer);
    this.#lagTimer = this.#watermarkTimer = null;
  }

  /** The leader appended: followers that held the whole log until now are still caught up. */
  appended(now: number): void {
    if (!this.#active) return;
    for (const p of this.#progress.values()) if (p.logEnd !== null && p.logEnd >= this.#knownEnd) p.caughtUpAt = now;
    this.#knownEnd = this.#log.logEndOffset;
    this.#pumpAll();
    this.#scheduleLagCheck(now);
  }

  /** A compaction pass ended: followers take its result once they are caught up. */
  compacted(): void {
    if (this.#active) this.#pumpAll();
  }

  /** Whether some follower is behind (the alarm then comes back to retry it). */
  get behind(): boolean {
    for (const p of this.#progress.values()) if (p.logEnd === null || p.logEnd < this.#log.logEndOffset) return true;
    return false;
  }

  /** Retries every follower that is behind now (the alarm's work). */
  resume(now: number): void {
    if (!this.#active) return;
    for (const p of this.#progress.values()) {
      if (p.retry) clearTimeout(p.retry);
      p.retry = null;
    }
    this.#pumpAll();
    this.#checkLag(now);
  }

  /** Each follower's log end as last known (for status and tests). */
  positions(): Record<number, number | null> {
    return Object.fromEntries([...this.#progress].map(([r, p]) => [r, p.logEnd]));
  }

  #pumpAll(watermark = false): void {
    for (const r of this.#progress.keys()) void this.#pump(r, watermark);
  }

  /**
   * Ships to one follower until it has the whole log; with `watermark`, also until it knows the
   * current high watermark (otherwise the watermark rides along with the next batches).
   */
  async #pump(replica: number, watermark = false): Promise<void> {
    const p = this.#progress.get(replica);
    if (!p || p.inFlight || p.retry) return;
    p.inFlight = true;
    try {
      while (this.#active && this.#progress.get(replica) === p && this.#host.healthy()) {
        const log = this.#log;
        const { leaderEpoch, replica: self, isr, config, configVersion } = log.owner;
        if (p.logEnd === null || p.logEnd < log.logStartOffset) {
          const outcome = await this.#host.follow(replica, {
            leader: self,
            leaderEpoch,
            isr,
            epochs: log.epochs(),
            logEndOffset: log.logEndOffset,
            logStartOffset: log.logStartOffset,
            startPosition: log.startPosition,
            config,
            configVersion,
          });
          if (this.#stale(replica, p, leaderEpoch) || !this.#answered(p, outcome)) return;
          continue;
        }
        const caughtUp = p.logEnd >= log.logEndOffset;
        if (caughtUp && p.cleanGen !== null && p.cleanGen !== log.cleanGen) {
          if (!(await this.#syncCompaction(replica, p, p.logEnd))) return;
          continue;
        }
        if (caughtUp && (!watermark || p.sentWatermark >= log.highWatermark)) break;
        const sentAt = Date.now();
        const end = log.logEndOffset;
        const read = log.readForFollower(p.logEnd, REPLICATION_BYTES);
        const highWatermark = log.highWatermark;
        const outcome = await this.#host.replicate(replica, {
          leader: self,
          leaderEpoch,
          fromOffset: p.logEnd,
          data: read.data,
          keys: log.requestKeysBetween(p.logEnd, read.nextOffset),
          highWatermark,
          configVersion,
        });
        if (this.#stale(replica, p, leaderEpoch) || !this.#answered(p, outcome)) return;
        p.sentWatermark = highWatermark;
        if (p.logEnd !== null && p.logEnd >= end) p.caughtUpAt = Math.max(p.caughtUpAt, sentAt);
        this.#advanceHighWatermark();
        this.#maybeExpand(replica, p);
      }
    } catch (err) {
      // The follower did not answer (a reset, an overload, a failure): its state is unknown, so
      // the next call is a handshake. The lag check decides when it leaves the in-sync set.
      p.logEnd = null;
      p.failures++;
      this.#retryLater(replica, p);
      if (p.failures === 1) console.warn(`edgelog: replicating to replica ${replica} failed: ${String(err)}`);
    } finally {
      p.inFlight = false;
    }
  }

  /** Sends a caught-up follower the next range of a compaction sync (see the file comment); false when it refused. */
  async #syncCompaction(replica: number, p: Progress, logEnd: number): Promise<boolean> {
    const log = this.#log;
    const { leaderEpoch, replica: self, configVersion } = log.owner;
    if (!p.sync || p.sync.gen !== log.cleanGen) {
      p.sync = { gen: log.cleanGen, from: log.logStartOffset, to: Math.min(logEnd, Math.max(log.cleanOffset, p.cleanOffset)) };
    }
    const sync = p.sync;
    const { data, next } = log.batches.batchesForSync(sync.from, sync.to, REPLICATION_BYTES);
    const done = next >= sync.to;
    const highWatermark = log.highWatermark;
    const outcome = await this.#host.replicate(replica, {
      leader: self,
      leaderEpoch,
      fromOffset: logEnd,
      data: new Uint8Array(0),
      keys: [],
      highWatermark,
      configVersion,
      compacted: { from: sync.from, to: next, data, done, cleanOffset: log.cleanOffset, gen: sync.gen },
    });
    if (this.#stale(replica, p, leaderEpoch) || !this.#answered(p, outcome)) return false;
    p.sentWatermark = highWatermark;
    if (p.sync === sync) {
      sync.from = next;
      if (done) p.sync = null;
    }
    return true;
  }

  /** Whether an answer belongs to a leadership or a follower state that has since been replaced. */
  #stale(replica: number, p: Progress, leaderEpoch: number): boolean {
    return !this.#active || this.#progress.get(replica) !== p || this.#log.owner.leaderEpoch !== leaderEpoch;
  }

  /** Records a follower's answer; false (and a retry scheduled) when it refused. */
  #answered(p: Progress, outcome: Outcome<FollowerPosition>): boolean {
    if (outcome.ok) {
      p.logEnd = outcome.value.logEndOffset;
      p.cleanGen = outcome.value.cleanGen ?? null;
      p.cleanOffset = outcome.value.cleanOffset ?? 0;
      p.failures = 0;
      return true;
    }
    if (outcome.code === "FENCED_LEADER_EPOCH") {
      this.#host.fenced();
      return false;
    }
    // Out of step (it lost our handshake, or its log end moved): start over with a handshake.
    p.logEnd = null;
    p.failures++;
    const replica = [...this.#progress].find(([, q]) => q === p)?.[0];
    if (replica !== undefined) this.#retryLater(replica, p);
    return false;
  }

  #retryLater(replica: number, p: Progress): void {
    if (!this.#active || p.retry) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(p.failures, 10));
    p.retry = setTimeout(() => {
      p.retry = null;
      void this.#pump(replica);
    }, delay);
    this.#scheduleLagCheck(Date.now());
  }

  /** The high watermark: the smallest log end among the in-sync replicas (the leader's is its own). */
  #advanceHighWatermark(): void {
    const { isr, replica: self } = this.#log.owner;
    let hw = this.#log.logEndOffset;
    for (const r of new Set([...isr, ...this.#joining])) {
      if (r === self) continue;
      const logEnd = this.#progress.get(r)?.logEnd;
      if (logEnd === null || logEnd === undefined) return;
      hw = Math.min(hw, logEnd);
    }
    if (!this.#log.setHighWatermark(hw)) return;
    this.#host.changed();
    // Followers learn the new watermark (they serve reads up to it, KIP-392) with their next
    // batches; an idle one is told shortly, in one call for however many moves came meanwhile.
    if (!this.#watermarkTimer) {
      this.#watermarkTimer = setTimeout(() => {
        this.#watermarkTimer = null;
        if (this.#active) this.#pumpAll(true);
      }, WATERMARK_DELAY_MS);
    }
  }

  /** A follower outside the in-sync set that reached the high watermark rejoins it. */
  #maybeExpand(replica: number, p: Progress): void {
    const { isr } = this.#log.owner;
    if (isr.includes(replica) || p.logEnd === null) return;
    if (p.logEnd < this.#log.highWatermark || p.logEnd < this.#epochStart()) return;
    if (this.#joining.has(replica)) return;
    this.#joining.add(replica);
    void this.#changeIsr((current) => (current.includes(replica) ? null : [...current, replica])).finally(() =>
      this.#joining.delete(replica),
    );
  }

  #epochStart(): number {
    const epochs = this.#log.epochs();
    return epochs.length > 0 ? epochs[epochs.length - 1].startOffset : this.#log.logStartOffset;
  }

  #scheduleLagCheck(now: number): void {
    if (!this.#active || this.#lagTimer) return;
    const { isr, replica: self, config } = this.#log.owner;
    const lagMax = config["replica.lag.time.max.ms"];
    let due: number | null = null;
    for (const r of isr) {
      const p = r === self ? undefined : this.#progress.get(r);
      if (!p || (p.logEnd !== null && p.logEnd >= this.#log.logEndOffset)) continue;
      const at = p.caughtUpAt + lagMax;
      if (due === null || at < due) due = at;
    }
    if (due === null) return;
    this.#lagTimer = setTimeout(
      () => {
        this.#lagTimer = null;
        this.#checkLag(Date.now());
      },
      Math.max(0, due - now) + 1,
    );
  }

  /** Removes in-sync followers that have not held the whole log for replica.lag.time.max.ms. */
  #checkLag(now: number): void {
    if (!this.#active || !this.#host.healthy()) return;
    const { config } = this.#log.owner;
    const lagMax = config["replica.lag.time.max.ms"];
    const lagging = (r: number) => {
      const p = this.#progress.get(r);
      return p !== undefined && (p.logEnd === null || p.logEnd < this.#log.logEndOffset) && now - p.caughtUpAt >= lagMax;
    };
    void this.#changeIsr((current) => (current.some(lagging) ? current.filter((r) => !lagging(r)) : null)).then(() =>
      this.#scheduleLagCheck(Date.now()),
    );
  }

  /**
   * Changes the in-sync set through the controller, one change at a time; `next` computes the
   * new set from the current one (null: nothing to change).
   */
  async #changeIsr(next: (current: number[]) => number[] | null): Promise<void> {
    while (this.#isrChange) await this.#isrChange;
    const run = async () => {
      if (!this.#active) return;
      const current = this.#log.owner.isr;
      const wanted = next(current);
      if (!wanted) return;
      const order = this.#log.owner.replicas;
      wanted.sort((a, b) => order.indexOf(a) - order.indexOf(b));
      const epoch = this.#log.owner.leaderEpoch;
      let outcome: Outcome<{ isr: number[] }>;
      try {
        outcome = await this.#host.alterIsr(wanted);
      } catch (err) {
        console.warn(`edgelog: changing the in-sync set failed: ${String(err)}`);
        return;
      }
      // An answer for a leadership this replica no longer holds changes nothing.
      if (!this.#active || this.#log.owner.leaderEpoch !== epoch) return;
      if (!outcome.ok) {
        if (outcome.code === "FENCED_LEADER_EPOCH" || outcome.code === "NOT_LEADER_OR_FOLLOWER") this.#host.fenced();
        return;
      }
      const { leader, leaderEpoch } = this.#log.owner;
      this.#log.lead({ leader, leaderEpoch, isr: outcome.value.isr });
      this.#advanceHighWatermark();
      this.#host.changed();
    };
    this.#isrChange = run().finally(() => (this.#isrChange = null));
    await this.#isrChange;
  }
}
