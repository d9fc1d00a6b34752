/**
 * What a partition is asked and what it answers: its assignment, appends, reads and status.
 * Plain data, so routes and the partition object share them without loading the log itself.
 */
import type { BatchHeader } from "../../protocol/record-batch";
import type { TopicConfig } from "../controller/topic-config";

/** Who this partition is; written once by the controller when the topic is created. */
export interface PartitionAssignment {
  topicId: string;
  topic: string;
  partition: number;
  replica: number;
  replicas: number[];
  /** The leader replica for `leaderEpoch` (objects made before replication lack it: their own id). */
  leader?: number;
  isr: number[];
  leaderEpoch: number;
  config: TopicConfig;
  /** The controller's version of `config`: an older one arriving late is ignored. */
  configVersion: number;
}

export type Acks = 0 | 1 | "all";

/** A batch the worker has fully validated (CRC, framing, records), with its parsed header. */
export interface CheckedBatch {
  header: BatchHeader;
  bytes: Uint8Array;
}

export interface AppendRequest {
  batches: CheckedBatch[];
  acks: Acks;
  /** The leader epoch the worker routed by; a replica at another epoch refuses (see leadership.ts). */
  leaderEpoch?: number;
  /** A plain-HTTP producer's idempotency key, and a digest of what it sent under it. */
  idempotencyKey?: string;
  digest?: string;
}

export interface AppendedBatch {
  baseOffset: number;
  lastOffset: number;
  /** True when this batch was a retry of one already stored; the offsets are the original ones. */
  duplicate: boolean;
}

export interface AppendResult {
  batches: AppendedBatch[];
  logStartOffset: number;
  highWatermark: number;
}

export interface FetchRequest {
  /** As in AppendRequest; reads from a follower (KIP-392) carry it too. */
  leaderEpoch?: number;
  offset: number;
  maxBytes: number;
  maxRecords: number;
  /** 0 answers at once; otherwise wait up to this long for minBytes past the offset. */
  maxWaitMs: number;
  minBytes: number;
  /** Kafka's isolation level; read_committed reads stop at the last stable offset. */
  isolation?: "read_uncommitted" | "read_committed";
}

export interface ReadResult {
  /** Whole batches, concatenated as stored (the first may start before the asked offset). */
  data: Uint8Array;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  /** The offset after the last record returned (the asked offset when nothing was). */
  nextOffset: number;
  /** The last stable offset (see txn-index.ts): where read_committed reads stop. */
  lastStableOffset?: number;
  /** read_committed only: the aborted transactions whose records the read may hold. */
  abortedTransactions?: { producerId: number; firstOffset: number }[];
}

export interface LogStatus {
  logStartOffset: number;
  highWatermark: number;
  lastStableOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  leaderEpoch: number;
  /** This replica's id, the leader it knows, and whether it is that leader. */
  replica: number;
  leader: number;
  isLeader: boolean;
}

/** What a leader sends a follower when it first reaches it (or after a refusal): see follow(). */
export interface FollowRequest {
  leader: number;
  leaderEpoch: number;
  isr: number[];
  /** The leader's epoch entries and log end, for the follower to find where it diverges. */
  epochs: { epoch: number; startOffset: number }[];
  logEndOffset: number;
  logStartOffset: number;
  startPosition: number;
  /** The leader's topic config, so a follower that missed a change (it was down) catches up on it. */
  config: TopicConfig;
  configVersion: number;
}

/** Batches (and the idempotency keys naming them) shipped from the leader to a follower. */
export interface ReplicateRequest {
  leader: number;
  leaderEpoch: number;
  /** The follower's log end the leader expects: the first batch's base offset. */
  fromOffset: number;
  data: Uint8Array;
  keys: { key: string; digest: string; result: string; created_at: number; last_offset: number }[];
  highWatermark: number;
  /** The leader's config version: a follower behind it (down during a change) asks for a handshake. */
  configVersion: number;
  /** The leader's compacted batches, for a follower whose compaction state differs (see replicator.ts). */
  compacted?: CompactionSync;
}

/**
 * One range of a compaction sync: every batch the leader stores with a base offset in
 * [from, to). `done` on the last range of a sync: the follower then records the leader's
 * compaction state (`cleanOffset`, `gen`).
 */
export interface CompactionSync {
  from: number;
  to: number;
  data: Uint8Array;
  done: boolean;
  cleanOffset: number;
  gen: string;
}

/**
 * A follower's answer: its log end after the call (the next offset it needs), and its compaction
 * state (the pass generation its log below `cleanOffset` matches).
 */
export interface FollowerPosition {
  logEndOffset: number;
  cleanGen?: string;
  cleanOffset?: number;
}

/** A transaction marker the coordinator writes (KIP-98 WriteTxnMarkers), routed like an append. */
export interface MarkerRequest {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
  leaderEpoch?: number;
}
