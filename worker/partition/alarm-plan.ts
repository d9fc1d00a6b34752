/**
 * When the partition's one alarm is due: a pure function of what the object knows.
 *
 * A Durable Object has one alarm, and a partition has several maintenance jobs that share it:
 *   retention-time      delete batches older than retention.ms (retention.ts)
 *   retention-size      delete the oldest batches of a log over retention.bytes
 *   idempotence-expiry  forget idempotency keys and idle producers' state after IDEMPOTENCE_TTL_MS
 *   replica-catch-up    retry followers that are behind and keep the in-sync set honest (replicator.ts)
 *   compaction          a compaction pass, or the next part of one (cleaner.ts says when)
 * Each job says when it is next due ({@link dueJobs}); the alarm is set for the earliest
 * ({@link planAlarm}). When it fires the object runs every job: each is idempotent and finds
 * nothing to do when it is not due, so an early firing (another job's, or the horizon's) is
 * harmless, and the plan is made again from scratch at its end.
 *
 * The dues that need storage reads (the oldest batch, the oldest idempotence state) are read only
 * when {@link needsFullPlan} says so, which keeps the append path free of them.
 */

/** How long an idempotency key, and an idle producer's sequence state, are remembered. */
export const IDEMPOTENCE_TTL_MS = 24 * 3600_000;
/** The furthest ahead the alarm is set; later work is re-evaluated then. */
export const MAX_ALARM_HORIZON_MS = 30 * 24 * 3600_000;
/** How soon retention runs after the log grows past retention.bytes. */
export const SIZE_CHECK_DELAY_MS = 1_000;
/** How soon the alarm comes back to a leader whose followers are behind (after a restart, with no writes). */
export const REPLICATION_RETRY_MS = 1_000;

/** The jobs that share the alarm. */
export type AlarmJob = "retention-time" | "retention-size" | "idempotence-expiry" | "replica-catch-up" | "compaction";

/** One job and when it is due (epoch milliseconds; possibly in the past: due at once). */
export interface Due {
  job: AlarmJob;
  at: number;
}

/** What the object knows without reading storage, checked at every plan. */
export interface CheapFacts {
  /** When idempotence state the caller just wrote expires (see {@link idempotenceExpiry}), or null. */
  hint: number | null;
  /** The log is over retention.bytes by at least its oldest batch (retention.ts overSizeLimit). */
  overSize: boolean;
  /** This replica leads, replicates, and some follower is behind. */
  followersBehind: boolean;
  /** When compaction is next due (cleaner.ts dueAt), or null; omitted for a topic that does not compact. */
  compaction?: number | null;
}

/** What a full plan reads from storage. */
export interface StoredFacts {
  /** The topic's retention.ms (-1: keep forever). */
  retentionMs: number;
  /** The newest timestamp of the oldest batch, or null for an empty log. */
  oldestBatchTimestamp: number | null;
  /** When the oldest idempotency key was recorded, and the idlest producer last wrote, or null. */
  oldestKeyAt: number | null;
  oldestProducerAt: number | null;
}

/** When idempotence state written at `at` is forgotten. */
export function idempotenceExpiry(at: number): number {
  return at + IDEMPOTENCE_TTL_MS + 1;
}

/**
 * Whether the plan must read storage: when no alarm is set (it could have missed a due), or when
 * the caller changed what the stored dues depend on (`changed`: the oldest batch or the config).
 * Otherwise the set alarm already covers them, and only the cheap facts can bring it sooner.
 */
export function needsFullPlan(alarmAt: number | null, changed: boolean): boolean {
  return alarmAt === null || changed;
}

/**
 * Each job that has work coming, and when. `stored` is omitted when {@link needsFullPlan} said
 * no: the stored dues are then already covered by the alarm set.
 *
 * @example
 * dueJobs(1_000, { hint: null, overSize: true, followersBehind: false })
 * // [{ job: "retention-size", at: 2_000 }]
 */
export function dueJobs(now: number, cheap: CheapFacts, stored?: StoredFacts): Due[] {
  const dues: Due[] = [];
  if (cheap.hint !== null) dues.push({ job: "idempotence-expiry", at: cheap.hint });
  if (cheap.overSize) dues.push({ job: "retention-size", at: now + SIZE_CHECK_DELAY_MS });
  if (cheap.followersBehind) dues.push({ job: "replica-catch-up", at: now + REPLICATION_RETRY_MS });
  if (cheap.compaction != null) dues.push({ job: "compaction", at: cheap.compaction });
  if (stored) {
    if (stored.retentionMs >= 0 && stored.oldestBatchTimestamp !== null) {
      dues.push({ job: "retention-time", at: stored.oldestBatchTimestamp + stored.retentionMs + 1 });
    }
    if (stored.oldestKeyAt !== null) dues.push({ job: "idempotence-expiry", at: idempotenceExpiry(stored.oldestKeyAt) });
    if (stored.oldestProducerAt !== null) dues.push({ job: "idempotence-expiry", at: idempotenceExpiry(stored.oldestProducerAt) });
  }
  return dues;
}

/**
 * The time to set the alarm to, or null to leave it as it is (nothing is due, or the alarm set
 * at `alarmAt` comes no later than the earliest due). The time is never in the past (a job
 * overdue runs at once) and never beyond MAX_ALARM_HORIZON_MS: the alarm API refuses dates
 * centuries away (huge retention.ms, future timestamps), and looking again then is harmless.
 *
 * @example
 * planAlarm(1_000, null, [{ job: "retention-time", at: 500 }, { job: "replica-catch-up", at: 2_000 }]) // 1_000
 * planAlarm(1_000, 1_500, [{ job: "replica-catch-up", at: 2_000 }]) // null: the alarm set comes first
 */
export function planAlarm(now: number, alarmAt: number | null, dues: Due[]): number | null {
  if (dues.length === 0) return null;
  const earliest = Math.min(...dues.map((d) => d.at));
  const at = Math.max(now, Math.min(earliest, now + MAX_ALARM_HORIZON_MS));
  if (alarmAt !== null && alarmAt <= at) return null;
  return at;
}
