/**
 * A transactional id's state, as Kafka's TransactionMetadata keeps it (KIP-98), and the rules
 * that move it. Pure: the coordinator object (coordinator-do.ts) stores it and does the I/O.
 *
 *   Empty ──addPartitions/addOffsets──▶ Ongoing ──commit──▶ PrepareCommit ──markers written──▶ CompleteCommit
 *                                          │      ──abort / timeout──▶ PrepareAbort ──markers──▶ CompleteAbort
 *   Complete* ──addPartitions──▶ Ongoing (the next transaction)
 *
 * The Prepare states are the decision: once stored, the transaction ends that way, whatever
 * crashes, since the coordinator finishes a prepared transaction when it comes back.
 */
import { EdgelogError } from "../../protocol/errors";

export type TxnState = "Empty" | "Ongoing" | "PrepareCommit" | "PrepareAbort" | "CompleteCommit" | "CompleteAbort";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TxnOffset extends TopicPartition {
  offset: number;
  metadata: string | null;
}

export interface Transaction {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  state: TxnState;
  /** The partitions of the ongoing (or ending) transaction. */
  partitions: TopicPartition[];
  /** Offsets it commits, per group, when it commits (sendOffsetsToTransaction). */
  offsets: { groupId: string; offsets: TxnOffset[] }[];
  timeoutMs: number;
  /** When the ongoing transaction began (its timeout counts from then). */
  startedAt: number;
}

/** Kafka's transaction.max.timeout.ms default: the longest transaction.timeout.ms a producer may ask for. */
export const MAX_TRANSACTION_TIMEOUT_MS = 900_000;
/** Kafka's producer default for transaction.timeout.ms. */
export const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000;
export const MAX_PRODUCER_EPOCH = 32_766;

/**
 * Checks that a request comes from the producer's current instance: an older epoch (or an
 * older producer id of this transactional id) is a zombie, PRODUCER_FENCED; a newer epoch than
 * issued is INVALID_PRODUCER_EPOCH.
 */
export function checkProducer(txn: Transaction, producerId: number, producerEpoch: number): void {
  if (producerId !== txn.producerId || producerEpoch < txn.producerEpoch) {
    throw new EdgelogError(
      "PRODUCER_FENCED",
      `producer ${producerId} epoch ${producerEpoch} of transactional id "${txn.transactionalId}" is fenced by producer ${txn.producerId} epoch ${txn.producerEpoch}`,
    );
  }
  if (producerEpoch > txn.producerEpoch) {
    throw new EdgelogError(
      "INVALID_PRODUCER_EPOCH",
      `epoch ${producerEpoch} was never issued for transactional id "${txn.transactionalId}" (its epoch is ${txn.producerEpoch})`,
    );
  }
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

/** The transaction with `partitions` (and `offsets`) added: begins one when none is ongoing. */
export function add(
  txn: Transaction,
  now: number,
  partitions: TopicPartition[],
  offsets?: { groupId: string; offsets: TxnOffset[] },
): Transaction {
  if (txn.state === "PrepareCommit" || txn.state === "PrepareAbort") {
    throw new EdgelogError(
      "CONCURRENT_TRANSACTIONS",
      `transactional id "${txn.transactionalId}" is still ending its last transaction: retry`,
    );
  }
  const begins = txn.state !== "Ongoing";
  const next: Transaction = begins ? { ...txn, state: "Ongoing", partitions: [], offsets: [], startedAt: now } : { ...txn };
  const seen = new Set(next.partitions.map(key));
  next.partitions = [...next.partitions, ...partitions.filter((tp) => !seen.has(key(tp)) && seen.add(key(tp)))];
  if (offsets) {
    const others = next.offsets.filter((o) => o.groupId !== offsets.groupId);
    const mine = new Map((next.offsets.find((o) => o.groupId === offsets.groupId)?.offsets ?? []).map((o) => [key(o), o]));
    for (const o of offsets.offsets) mine.set(key(o), o);
    next.offsets = [...others, { groupId: offsets.groupId, offsets: [...mine.values()] }];
  }
  return next;
}

/** Whether produce to `tp` belongs to the ongoing transaction (else INVALID_TXN_STATE). */
export function checkProduce(txn: Transaction, tp: TopicPartition): void {
  if (txn.state !== "Ongoing" || !txn.partitions.some((p) => key(p) === key(tp))) {
    throw new EdgelogError(
      "INVALID_TXN_STATE",
      `partition ${tp.topic}/${tp.partition} is not in an ongoing transaction of "${txn.transactionalId}": add it first (POST /v1/transactions/{id}/partitions)`,
    );
  }
}

/**
 * What ending the transaction (commit or abort) does: "prepare" it (from Ongoing), "finish" an
 * already prepared one of the same outcome (a retry, or a crash mid-way), "done" when it already
 * ended that way (a retry after the answer was lost). Anything else is INVALID_TXN_STATE.
 */
export function endAction(txn: Transaction, commit: boolean): "prepare" | "finish" | "done" {
  const prepared = commit ? "PrepareCommit" : "PrepareAbort";
  const complete = commit ? "CompleteCommit" : "CompleteAbort";
  if (txn.state === "Ongoing") return "prepare";
  if (txn.state === prepared) return "finish";
  if (txn.state === complete) return "done";
  // Aborting with nothing begun is harmless in Kafka's producer (it sends nothing); here it is done.
  if (!commit && txn.state === "Empty") return "done";
  throw new EdgelogError(
    "INVALID_TXN_STATE",
    `transactional id "${txn.transactionalId}" is ${txn.state}: it cannot ${commit ? "commit" : "abort"} now`,
  );
}
