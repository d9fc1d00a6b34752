/**
 * The follower's side of replication (the leader's is replicator.ts): join the leader's log when
 * its handshake arrives, then take the batches it ships, in order.
 *
 * The rules are runtime-free (leadership.ts admitReplicated, leader-epochs.ts reconcile); this
 * applies them to the log.
 */
import { splitBatches } from "../../protocol/record-batch";
import { reconcile } from "./leader-epochs";
import { admitReplicated } from "./leadership";
import type { PartitionLog } from "./log";
import type { FollowRequest, ReplicateRequest } from "./types";

/**
 * After the handshake's leadership was adopted: takes the leader's config, drops whatever suffix
 * diverges from the leader's log (KIP-101), or starts over where the leader's log now starts.
 */
export function joinLeader(log: PartitionLog, request: FollowRequest): void {
  log.configure(request.config, request.configVersion);
  const plan = reconcile({ epochs: log.epochs(), logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset }, request);
  if (plan.kind === "reset") log.resetTo(plan.offset, plan.position);
  else log.truncateTo(plan.offset);
}

/**
 * Takes the leader's compacted batches when the call carries them, then appends the leader's batches (refused unless they come from the leader of this replica's epoch
 * and continue its log) and learns its high watermark. `afterLocalWrite` runs between the two
 * (a crash-mid-append fault strikes there).
 */
export async function takeBatches(
  log: PartitionLog,
  request: ReplicateRequest,
  now: number,
  afterLocalWrite: () => Promise<void>,
): Promise<void> {
  admitReplicated(log.owner, request, log.logEndOffset);
  const sync = request.compacted;
  if (sync) {
    const batches = splitBatches(sync.data).map(({ header, bytes }) => ({ baseOffset: header.baseOffset, data: bytes.slice() }));
    log.takeCompacted(sync.from, sync.to, batches, sync.done ? { cleanOffset: sync.cleanOffset, gen: sync.gen } : undefined);
  }
  if (request.data.byteLength > 0) {
    log.appendReplicated(request.data, request.keys, now);
    await afterLocalWrite();
  }
  log.setHighWatermark(request.highWatermark);
}
