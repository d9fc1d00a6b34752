/**
 * Leader epochs, as Kafka's leader-epoch cache (KIP-101, KIP-279).
 *
 * Each replica remembers, for every leader epoch its log holds, the offset where that epoch's
 * batches start. Two logs agree up to the offset where their epochs part: a batch of epoch e
 * was written by the one leader of epoch e, so two replicas that both hold offset o under the
 * same epoch hold the same batch there. A follower that comes back (or a fenced old leader)
 * truncates its log at that point and fetches the rest from the leader, so a suffix no in-sync
 * replica had is dropped rather than kept beside the new leader's different batches.
 */

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/**
 * The first offset at which the follower's log departs from the leader's (everything below it
 * agrees). Each log is given as its epoch entries (ascending) and its end offset.
 *
 * @example
 * // The old leader wrote offsets 5..7 in epoch 1; the new leader (epoch 2) had only 5 of them.
 * divergence([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }], 8,
 *            [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 5 }, { epoch: 2, startOffset: 6 }], 9) // 6
 */
export function divergence(follower: EpochEntry[], followerEnd: number, leader: EpochEntry[], leaderEnd: number, leaderStart = 0): number {
  for (let i = 0; i < follower.length; i++) {
    const { epoch, startOffset } = follower[i];
    const end = Math.min(follower[i + 1]?.startOffset ?? followerEnd, followerEnd);
    if (end <= startOffset) continue; // an epoch that wrote nothing here
    const at = leader.findIndex((e) => e.epoch === epoch);
    if (at < 0) {
      // Below the leader's log start there is nothing to compare (retention, or a leader that
      // started its log over there): that part stands.
      if (end <= leaderStart) continue;
      // The leader never held a batch of this epoch: everything from here on is the follower's own.
      return Math.max(startOffset, leaderStart);
    }
    const leaderEnd_ = Math.min(leader[at + 1]?.startOffset ?? leaderEnd, leaderEnd);
    if (end > leaderEnd_) return Math.max(startOffset, leaderEnd_);
  }
  return Math.min(followerEnd, leaderEnd);
}

/** What a follower does with its log when a leader's handshake reaches it. */
export type Reconciliation = { kind: "reset"; offset: number; position: number } | { kind: "truncate"; offset: number };

/** A log as the handshake compares it: its epoch entries (ascending) and its offsets. */
export interface LogShape {
  epochs: EpochEntry[];
  logStartOffset: number;
  logEndOffset: number;
}

/**
 * How a follower (or a stepped-down leader) joins the leader's log: when what it needs next is
 * gone from the leader (retention), it starts over at the leader's log start; otherwise it
 * truncates at the {@link divergence} point (a no-op when nothing diverges).
 *
 * @example
 * reconcile({ epochs: [{ epoch: 1, startOffset: 0 }], logStartOffset: 0, logEndOffset: 8 },
 *           { epochs: [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 6 }], logStartOffset: 0, logEndOffset: 9, startPosition: 0 })
 * // { kind: "truncate", offset: 6 }
 */
export function reconcile(follower: LogShape, leader: LogShape & { startPosition: number }): Reconciliation {
  if (follower.logEndOffset < leader.logStartOffset || follower.logStartOffset > leader.logEndOffset) {
    return { kind: "reset", offset: leader.logStartOffset, position: leader.startPosition };
  }
  return {
    kind: "truncate",
    offset: divergence(follower.epochs, follower.logEndOffset, leader.epochs, leader.logEndOffset, leader.logStartOffset),
  };
}
