/**
 * When the partition's one alarm is due (worker/partition/alarm-plan.ts), without workerd.
 */
import { describe, expect, it } from "vitest";
import {
  dueJobs,
  IDEMPOTENCE_TTL_MS,
  idempotenceExpiry,
  MAX_ALARM_HORIZON_MS,
  needsFullPlan,
  planAlarm,
  REPLICATION_RETRY_MS,
  SIZE_CHECK_DELAY_MS,
  type CheapFacts,
  type Due,
  type StoredFacts,
} from "../../worker/partition/alarm-plan";
import { prng } from "../protocol/support";

const NOW = 1_700_000_000_000;
const QUIET: CheapFacts = { hint: null, overSize: false, followersBehind: false };
const EMPTY: StoredFacts = { retentionMs: 604_800_000, oldestBatchTimestamp: null, oldestKeyAt: null, oldestProducerAt: null };

describe("planAlarm", () => {
  it("the alarm is set for the earliest due job and never in the past", () => {
    const dues: Due[] = [
      { job: "idempotence-expiry", at: NOW + 5_000 },
      { job: "replica-catch-up", at: NOW + 1_000 },
      { job: "retention-time", at: NOW + 9_000 },
    ];
    expect(planAlarm(NOW, null, dues)).toBe(NOW + 1_000);
    // An overdue job (a batch that expired while the object slept) runs at once, not in the past.
    expect(planAlarm(NOW, null, [...dues, { job: "retention-time", at: NOW - 60_000 }])).toBe(NOW);
  });

  it("an alarm already set no later than the earliest due is left alone; a later one is brought forward", () => {
    const dues: Due[] = [{ job: "replica-catch-up", at: NOW + 1_000 }];
    expect(planAlarm(NOW, NOW + 500, dues)).toBeNull();
    expect(planAlarm(NOW, NOW + 1_000, dues)).toBeNull();
    expect(planAlarm(NOW, NOW + 2_000, dues)).toBe(NOW + 1_000);
  });

  it("with nothing due no alarm is set", () => {
    expect(planAlarm(NOW, null, [])).toBeNull();
    expect(planAlarm(NOW, null, dueJobs(NOW, QUIET, EMPTY))).toBeNull();
  });

  it("a due further than the horizon (huge retention.ms, future timestamps) is looked at again at the horizon", () => {
    expect(planAlarm(NOW, null, [{ job: "retention-time", at: NOW + 1000 * 365 * 24 * 3600_000 }])).toBe(NOW + MAX_ALARM_HORIZON_MS);
  });

  it("whatever the dues, the alarm planned is the earliest of them, clamped to [now, now + horizon], and never later than one already set", () => {
    const random = prng(7);
    for (let i = 0; i < 500; i++) {
      const dues: Due[] = Array.from({ length: Math.floor(random() * 5) }, () => ({
        job: "retention-time",
        at: NOW + Math.floor((random() - 0.3) * 2 * MAX_ALARM_HORIZON_MS),
      }));
      const alarmAt = random() < 0.5 ? null : NOW + Math.floor((random() - 0.2) * MAX_ALARM_HORIZON_MS);
      const at = planAlarm(NOW, alarmAt, dues);
      if (dues.length === 0) {
        expect(at).toBeNull();
        continue;
      }
      const wanted = Math.min(Math.max(NOW, Math.min(...dues.map((d) => d.at))), NOW + MAX_ALARM_HORIZON_MS);
      if (alarmAt !== null && alarmAt <= wanted) expect(at).toBeNull();
      else expect(at).toBe(wanted);
    }
  });
});

describe("dueJobs", () => {
  it("a log over retention.bytes is trimmed again shortly, and a follower that is behind is retried shortly", () => {
    expect(dueJobs(NOW, { ...QUIET, overSize: true })).toEqual([{ job: "retention-size", at: NOW + SIZE_CHECK_DELAY_MS }]);
    expect(dueJobs(NOW, { ...QUIET, followersBehind: true })).toEqual([{ job: "replica-catch-up", at: NOW + REPLICATION_RETRY_MS }]);
  });

  it("idempotence state is forgotten just after its TTL, counted from the oldest key or idlest producer", () => {
    expect(idempotenceExpiry(NOW)).toBe(NOW + IDEMPOTENCE_TTL_MS + 1);
    expect(dueJobs(NOW, { ...QUIET, hint: idempotenceExpiry(NOW) })).toEqual([
      { job: "idempotence-expiry", at: NOW + IDEMPOTENCE_TTL_MS + 1 },
    ]);
    const stored = { ...EMPTY, oldestKeyAt: NOW - 10, oldestProducerAt: NOW - 20 };
    expect(dueJobs(NOW, QUIET, stored)).toEqual([
      { job: "idempotence-expiry", at: NOW - 10 + IDEMPOTENCE_TTL_MS + 1 },
      { job: "idempotence-expiry", at: NOW - 20 + IDEMPOTENCE_TTL_MS + 1 },
    ]);
  });

  it("the oldest batch is due for deletion just after its newest record passes retention.ms; retention.ms -1 keeps it forever", () => {
    const stored = { ...EMPTY, retentionMs: 60_000, oldestBatchTimestamp: NOW - 1_000 };
    expect(dueJobs(NOW, QUIET, stored)).toEqual([{ job: "retention-time", at: NOW - 1_000 + 60_000 + 1 }]);
    expect(dueJobs(NOW, QUIET, { ...stored, retentionMs: -1 })).toEqual([]);
  });

  it("stored dues are read only when no alarm is set or what they depend on changed", () => {
    expect(needsFullPlan(null, false)).toBe(true);
    expect(needsFullPlan(NOW + 10, true)).toBe(true);
    expect(needsFullPlan(NOW + 10, false)).toBe(false);
    // Without them, the cheap facts alone still bring an alarm set for tomorrow forward.
    expect(planAlarm(NOW, NOW + 86_400_000, dueJobs(NOW, { ...QUIET, followersBehind: true }))).toBe(NOW + REPLICATION_RETRY_MS);
  });
});
