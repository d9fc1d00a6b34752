/**
 * The partition's one alarm, on the object's storage: kept at the time alarm-plan.ts plans, and
 * running the jobs that share it when it fires.
 *
 * The plan itself is pure (alarm-plan.ts); this is the wiring that gathers its facts (cheap ones
 * at every call, stored ones only when the plan needs them) and remembers the alarm set, so a
 * busy append path costs no storage reads and no alarm writes.
 */
import { dueJobs, IDEMPOTENCE_TTL_MS, needsFullPlan, planAlarm, type StoredFacts } from "./alarm-plan";
import { Cleaner } from "./cleaner";
import type { PartitionLog } from "./log";
import { deletes, enforceRetention, overSizeLimit } from "./retention";

/** What the alarm needs from its object. */
export interface AlarmHost {
  /** This replica leads, replicates, and some follower is behind. */
  followersBehind(): boolean;
  /** Retries the followers that are behind (starting to replicate, if this replica should). */
  resumeReplication(now: number): void;
  /** False while a fault makes this replica unreachable: the alarm does nothing then. */
  healthy(): boolean;
  /** A compaction pass ended: followers take its result. */
  compacted(): void;
}

export class PartitionAlarm {
  #storage: DurableObjectStorage;
  #log: PartitionLog;
  #host: AlarmHost;
  #cleaner: Cleaner;
  #alarmAt: number | null = null;

  constructor(storage: DurableObjectStorage, log: PartitionLog, host: AlarmHost) {
    this.#storage = storage;
    this.#log = log;
    this.#host = host;
    this.#cleaner = new Cleaner(log, storage.sql);
  }

  /** Learns the alarm set before a restart (run inside blockConcurrencyWhile). */
  async load(): Promise<void> {
    this.#alarmAt = await this.#storage.getAlarm();
  }

  /** The object's storage, its alarm with it, was wiped. */
  forget(): void {
    this.#alarmAt = null;
    this.#cleaner.forget();
  }

  /**
   * Keeps the alarm at the earliest job due. `hint` is a due time the caller knows of (state it
   * just wrote); `full` says the oldest batch or the config changed (see needsFullPlan).
   */
  async arm(now: number, hint: number | null = null, full = false): Promise<void> {
    const assignment = this.#log.assignment;
    if (!assignment) return;
    const cheap = {
      hint,
      overSize: overSizeLimit(this.#log, assignment.config),
      followersBehind: this.#host.followersBehind(),
      compaction: this.#cleaner.dueAt(now),
    };
    const stored = needsFullPlan(this.#alarmAt, full)
      ? this.#storedFacts(deletes(assignment.config) ? assignment.config["retention.ms"] : -1)
      : undefined;
    const at = planAlarm(now, this.#alarmAt, dueJobs(now, cheap, stored));
    if (at === null) return;
    await this.#storage.setAlarm(at);
    this.#alarmAt = at;
  }

  /** {@link arm} after a write that is already stored: scheduling maintenance must not turn it into an error answer. */
  async armQuietly(now: number, hint: number | null, full = false): Promise<void> {
    await this.arm(now, hint, full).catch((err) => console.error("edgelog: scheduling the partition alarm failed", err));
  }

  /** The alarm fired: runs every job (each does nothing when it is not due), then plans the next. */
  async fired(now: number): Promise<void> {
    this.#alarmAt = null;
    const assignment = this.#log.assignment;
    if (!assignment) return;
    // A crashed replica does nothing; healing it (injectFault "none") re-arms the alarm.
    if (!this.#host.healthy()) return;
    enforceRetention(this.#log, assignment.config, now);
    this.#log.expireIdempotenceState(now - IDEMPOTENCE_TTL_MS, now - IDEMPOTENCE_TTL_MS);
    this.#host.resumeReplication(now);
    const compaction = await this.#cleaner.run(now);
    if (compaction.ended) this.#host.compacted();
    await this.arm(Date.now());
  }

  #storedFacts(retentionMs: number): StoredFacts {
    const idle = this.#log.oldestIdempotenceState();
    const oldest = retentionMs >= 0 ? this.#log.oldestBatches(1)[0] : undefined;
    return { retentionMs, oldestBatchTimestamp: oldest?.max_timestamp ?? null, oldestKeyAt: idle.key, oldestProducerAt: idle.producer };
  }
}
