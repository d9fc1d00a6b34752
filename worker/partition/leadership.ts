/**
 * Who may do what, by leader epoch: the checks every replica makes before it acts.
 *
 * The controller bumps a partition's leader epoch at every election. Each request carries the
 * epoch its sender believes in, and a replica compares it with its own (as Kafka's
 * KIP-320 and KIP-101 do):
 *   - older than the replica's  -> FENCED_LEADER_EPOCH: the sender is stale (an old leader still
 *     replicating, or a worker with old metadata) and must refresh;
 *   - newer than the replica's  -> UNKNOWN_LEADER_EPOCH: this replica has not heard of the
 *     election yet (it asks the controller); the sender retries;
 *   - equal, but this replica is not the leader -> NOT_LEADER_OR_FOLLOWER.
 * So a leader that was replaced can never append: its followers refuse its batches, the
 * controller refuses its in-sync-set changes, and workers stop routing to it.
 */
import { EdgelogError } from "../../protocol/errors";
import type { PartitionAssignment } from "./types";

/** The leader of an assignment (objects made before replication lack the field: themselves). */
export function leaderOf(a: PartitionAssignment): number {
  return a.leader ?? a.replica;
}

/** A request that carries the epoch it was routed by, to a replica at `a`. */
export function checkEpoch(a: PartitionAssignment, epoch: number | undefined): void {
  if (epoch === undefined || epoch === a.leaderEpoch) return;
  if (epoch < a.leaderEpoch) {
    throw new EdgelogError("FENCED_LEADER_EPOCH", `request for leader epoch ${epoch}, but partition ${a.partition} is at epoch ${a.leaderEpoch}`);
  }
  throw new EdgelogError("UNKNOWN_LEADER_EPOCH", `request for leader epoch ${epoch}, but replica ${a.replica} of partition ${a.partition} knows only epoch ${a.leaderEpoch}`);
}

/** A produce (or a subscription): only the leader of the request's epoch takes it. */
export function checkLeader(a: PartitionAssignment, epoch: number | undefined): void {
  checkEpoch(a, epoch);
  if (leaderOf(a) !== a.replica) {
    throw new EdgelogError("NOT_LEADER_OR_FOLLOWER", `replica ${a.replica} of partition ${a.partition} is a follower; the leader is replica ${leaderOf(a)} (epoch ${a.leaderEpoch})`);
  }
}

/**
 * A message from a leader (follow, replicate) or from the controller (lead): answers whether it
 * brings a newer epoch the replica must adopt, or the current one.
 */
export function checkFromLeader(a: PartitionAssignment, leader: number, epoch: number): "newer" | "current" {
  if (epoch < a.leaderEpoch) {
    throw new EdgelogError("FENCED_LEADER_EPOCH", `replica ${leader} speaks for leader epoch ${epoch}, but partition ${a.partition} is at epoch ${a.leaderEpoch}`);
  }
  if (epoch > a.leaderEpoch) return "newer";
  if (leader !== leaderOf(a)) {
    throw new EdgelogError("FENCED_LEADER_EPOCH", `replica ${leader} claims epoch ${epoch}, whose leader is replica ${leaderOf(a)}`);
  }
  return "current";
}
