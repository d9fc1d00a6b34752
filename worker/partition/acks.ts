/**
 * acks=all's verdict: when an append waiting for its records to be committed may answer, and
 * with what. Kept apart from the object so the promise each answer makes is stated (and tested)
 * in one place:
 *   - committed (the high watermark passed the records) with enough replicas in sync: success;
 *   - the in-sync set fell below min.insync.replicas: NOT_ENOUGH_REPLICAS_AFTER_APPEND (as Kafka,
 *     committed or not, such a write is not safe);
 *   - leadership moved, or the wait ran out: REQUEST_TIMED_OUT, whose outcome is unknown. Never
 *     NOT_LEADER_OR_FOLLOWER, which promises nothing was applied: this write may survive.
 */
import { EdgelogError } from "../../protocol/errors";
import type { AppendResult } from "./types";

/** How long an acks=all append waits for its records to be committed, beyond replica.lag.time.max.ms. */
export const ACK_GRACE_MS = 5_000;

/** What the verdict depends on, as the partition sees it now. */
export interface CommitView {
  highWatermark: number;
  /** This replica still leads and was not fenced (see leadership.ts isActiveLeader). */
  leading: boolean;
  isrSize: number;
  minInsyncReplicas: number;
}

/** The offset the high watermark must reach for an append's records to be committed. */
export function commitEnd(result: AppendResult): number {
  return Math.max(-1, ...result.batches.map((b) => b.lastOffset)) + 1;
}

/** Whether the waiting append can answer now (committed, or it never will be here). */
export function commitSettled(v: CommitView, end: number): boolean {
  return v.highWatermark >= end || !v.leading || v.isrSize < v.minInsyncReplicas;
}

/**
 * The answer once settled (or timed out): null for success, else the error to throw.
 *
 * @example
 * commitVerdict({ highWatermark: 10, leading: true, isrSize: 1, minInsyncReplicas: 2 }, 10)?.code
 * // "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
 */
export function commitVerdict(v: CommitView, end: number): EdgelogError | null {
  if (!v.leading) {
    return new EdgelogError(
      "REQUEST_TIMED_OUT",
      "leadership moved before the write was replicated: the outcome is unknown; retry on the new leader",
    );
  }
  if (v.isrSize < v.minInsyncReplicas) {
    return new EdgelogError(
      "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
      `the in-sync set shrank to ${v.isrSize} replica(s), below min.insync.replicas ${v.minInsyncReplicas}, before the write was replicated`,
    );
  }
  if (v.highWatermark >= end) return null;
  return new EdgelogError("REQUEST_TIMED_OUT", "the in-sync replicas did not acknowledge the write in time: the outcome is unknown");
}

/**
 * Waits (with `wait`, for at most `timeoutMs`) until the append whose records end at `end` is
 * settled, then answers as {@link commitVerdict} says: resolves on success, throws otherwise.
 *
 * @example
 * await awaitCommit(commitEnd(result), () => view(), (ready, ms) => commits.wait(ready, ms), 35_000);
 */
export async function awaitCommit(
  end: number,
  view: () => CommitView,
  wait: (ready: () => boolean, timeoutMs: number) => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  if (!commitSettled(view(), end)) await wait(() => commitSettled(view(), end), timeoutMs);
  const error = commitVerdict(view(), end);
  if (error) throw error;
}
