/**
 * Who may do what, by leader epoch: the replica's leadership state machine.
 *
 * It exists so the rules that keep a replaced leader from ever appending live in one place, as
 * plain functions of plain data, testable without workerd; the partition object only stores
 * what they decide and carries out the effects they list (see {@link Effect}).
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
 * controller refuses its in-sync-set changes, and workers stop routing to it. A leader that
 * learns of a newer epoch before the controller tells it who leads is *fenced*: it refuses
 * produces until it adopts the new leadership.
 */
import { EdgelogError } from "../../protocol/errors";
import type { PartitionAssignment, ReplicateRequest } from "./types";

/** A leadership as the controller (or a leader) announces it. */
export interface LeadershipChange {
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

/** What a replica knows of its partition's leadership. */
export interface LeadershipState {
  /** As last accepted (and stored): leader, epoch, in-sync set, this replica's id. */
  readonly assignment: PartitionAssignment;
  /** In memory only: a follower or the controller showed this leader a newer epoch, not yet adopted. */
  readonly fenced: boolean;
}

/**
 * What the partition object must do after a transition, in order:
 *   record            store the new leadership (and start its epoch in the log, for a leader)
 *   replicate         start feeding the followers (if not already, and the replica is healthy)
 *   stopReplicating   stop feeding them
 *   closeSubscribers  close every push socket with 4006 NOT_LEADER_OR_FOLLOWER and its resume offset
 *   releaseWaiters    answer parked fetches and acks=all appends now (they re-check and go elsewhere)
 *   askController     ask the controller for the current leadership, and adopt its answer
 * A stepped-down replica's divergent suffix is truncated (by leader epoch, see leader-epochs.ts)
 * when the new leader's handshake reaches it: follow, then {@link reconcile}.
 */
export type Effect =
  | { do: "record"; change: LeadershipChange }
  | { do: "replicate" | "stopReplicating" | "closeSubscribers" | "releaseWaiters" | "askController" };

/** A new state and what must happen for the replica to be in it. */
export interface Transition {
  state: LeadershipState;
  effects: Effect[];
}

/** The leader of an assignment (objects made before replication lack the field: themselves). */
export function leaderOf(a: PartitionAssignment): number {
  return a.leader ?? a.replica;
}

/** Whether this replica leads and has not been fenced: the only state in which it takes produces. */
export function isActiveLeader(s: LeadershipState): boolean {
  return !s.fenced && leaderOf(s.assignment) === s.assignment.replica;
}

/** Whether this replica should be feeding followers now. */
export function shouldReplicate(s: LeadershipState): boolean {
  return isActiveLeader(s) && s.assignment.replicas.length > 1;
}

/** A request that carries the epoch it was routed by, to a replica at `a`. */
export function checkEpoch(a: PartitionAssignment, epoch: number | undefined): void {
  if (epoch === undefined || epoch === a.leaderEpoch) return;
  if (epoch < a.leaderEpoch) {
    throw new EdgelogError(
      "FENCED_LEADER_EPOCH",
      `request for leader epoch ${epoch}, but partition ${a.partition} is at epoch ${a.leaderEpoch}`,
    );
  }
  throw new EdgelogError(
    "UNKNOWN_LEADER_EPOCH",
    `request for leader epoch ${epoch}, but replica ${a.replica} of partition ${a.partition} knows only epoch ${a.leaderEpoch}`,
  );
}

/** A produce (or a subscription): only the leader of the request's epoch takes it. */
export function checkLeader(a: PartitionAssignment, epoch: number | undefined): void {
  checkEpoch(a, epoch);
  if (leaderOf(a) !== a.replica) {
    throw new EdgelogError(
      "NOT_LEADER_OR_FOLLOWER",
      `replica ${a.replica} of partition ${a.partition} is a follower; the leader is replica ${leaderOf(a)} (epoch ${a.leaderEpoch})`,
    );
  }
}

/**
 * A message from a leader (follow, replicate) or from the controller (lead): answers whether it
 * brings a newer epoch the replica must adopt, or the current one.
 */
export function checkFromLeader(a: PartitionAssignment, leader: number, epoch: number): "newer" | "current" {
  if (epoch < a.leaderEpoch) {
    throw new EdgelogError(
      "FENCED_LEADER_EPOCH",
      `replica ${leader} speaks for leader epoch ${epoch}, but partition ${a.partition} is at epoch ${a.leaderEpoch}`,
    );
  }
  if (epoch > a.leaderEpoch) return "newer";
  if (leader !== leaderOf(a)) {
    throw new EdgelogError("FENCED_LEADER_EPOCH", `replica ${leader} claims epoch ${epoch}, whose leader is replica ${leaderOf(a)}`);
  }
  return "current";
}

/**
 * Adopts a leadership from the controller or a leader. Throws FENCED_LEADER_EPOCH for a stale
 * one; the current one again changes nothing (unless this replica was fenced); a leader told
 * to follow steps down.
 *
 * @example
 * adopt({ assignment: leaderOfEpoch3, fenced: false }, { leader: 2, leaderEpoch: 4, isr: [1, 2] })
 * // effects: record, stopReplicating, closeSubscribers, releaseWaiters
 */
export function adopt(s: LeadershipState, change: LeadershipChange): Transition {
  if (checkFromLeader(s.assignment, change.leader, change.leaderEpoch) === "current" && !s.fenced) return { state: s, effects: [] };
  const state: LeadershipState = { assignment: { ...s.assignment, ...change }, fenced: false };
  const effects: Effect[] = [{ do: "record", change }];
  if (isActiveLeader(state)) {
    if (shouldReplicate(state)) effects.push({ do: "replicate" });
  } else if (isActiveLeader(s)) {
    effects.push(...stepDown(state).effects);
  }
  return { state, effects };
}

/**
 * Stops leading: a follower or the controller refused this leader's epoch (or it was told to
 * follow). A leader that does not know who leads now is fenced and asks the controller.
 *
 * @example
 * stepDown({ assignment: leaderOfEpoch3, fenced: false })
 * // state.fenced: true; effects: stopReplicating, closeSubscribers, releaseWaiters, askController
 */
export function stepDown(s: LeadershipState): Transition {
  const fenced = s.fenced || leaderOf(s.assignment) === s.assignment.replica;
  const effects: Effect[] = [{ do: "stopReplicating" }, { do: "closeSubscribers" }, { do: "releaseWaiters" }];
  if (fenced) effects.push({ do: "askController" });
  return { state: { ...s, fenced }, effects };
}

/**
 * Whether a produce routed by `epoch` may append here (the state does not change). The effects
 * are carried out either way: a refusal for an epoch newer than known asks the controller; an
 * admitted produce makes sure the followers are fed.
 *
 * @example
 * admitProduce(followerOfEpoch3, 3).error?.code // "NOT_LEADER_OR_FOLLOWER"
 */
export function admitProduce(s: LeadershipState, epoch: number | undefined): Transition & { error: EdgelogError | null } {
  const a = s.assignment;
  if (s.fenced) {
    return {
      state: s,
      effects: [],
      error: new EdgelogError("NOT_LEADER_OR_FOLLOWER", `replica ${a.replica} was fenced by a newer leader epoch than ${a.leaderEpoch}`),
    };
  }
  try {
    checkLeader(a, epoch);
  } catch (err) {
    if (!(err instanceof EdgelogError)) throw err;
    // A newer epoch than this replica knows: the controller's word has not reached it yet.
    return { state: s, effects: err.code === "UNKNOWN_LEADER_EPOCH" ? [{ do: "askController" }] : [], error: err };
  }
  return { state: s, effects: shouldReplicate(s) ? [{ do: "replicate" }] : [], error: null };
}

/**
 * Throws unless a follower whose log ends at `logEndOffset` takes these batches: they must come
 * from the leader of its own epoch (never an older one), of a config version it has, and
 * continue its log exactly.
 */
export function admitReplicated(
  a: PartitionAssignment,
  request: Pick<ReplicateRequest, "leader" | "leaderEpoch" | "configVersion" | "fromOffset">,
  logEndOffset: number,
): void {
  if (checkFromLeader(a, request.leader, request.leaderEpoch) === "newer") {
    throw new EdgelogError(
      "UNKNOWN_LEADER_EPOCH",
      `replica ${a.replica} has not been told of epoch ${request.leaderEpoch} yet: follow first`,
    );
  }
  if (leaderOf(a) === a.replica)
    throw new EdgelogError("NOT_LEADER_OR_FOLLOWER", `replica ${a.replica} leads epoch ${request.leaderEpoch} itself`);
  if (request.configVersion > a.configVersion) {
    throw new EdgelogError("UNKNOWN_LEADER_EPOCH", `replica ${a.replica} missed config version ${request.configVersion}: follow again`);
  }
  if (request.fromOffset !== logEndOffset) {
    throw new EdgelogError("OFFSET_OUT_OF_RANGE", `batches from ${request.fromOffset}, but this replica's log ends at ${logEndOffset}`);
  }
}
