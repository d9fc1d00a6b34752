/**
 * Isolation levels, and the read_committed filter a Kafka consumer applies to fetched batches
 * (KIP-98; Kafka's CompletedFetch with the fetch response's aborted_transactions).
 *
 * A read_committed fetch answers the batches up to the last stable offset together with the
 * aborted transactions that overlap them, each as (producerId, firstOffset). Walking the batches
 * in offset order, a transaction counts as aborted from its firstOffset until its producer's ABORT
 * marker; a transactional data batch of a producer whose transaction is aborted is dropped. The
 * filter needs no memory beyond one fetch: the list names every aborted transaction, even one
 * whose data began before the fetched range, and whatever the list does not name committed.
 */

import { readControlRecord } from "./control";
import { EdgelogError } from "./errors";
import type { BatchHeader } from "./record-batch-header";

/**
 * The isolation levels, as Kafka's isolation.level config spells them.
 *
 * @example
 * ISOLATION_LEVELS.includes(level);
 */
export const ISOLATION_LEVELS = ["read_uncommitted", "read_committed"] as const;
/** "read_uncommitted" (every record, Kafka's default) | "read_committed" (no aborted or open transactions). */
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

/** An aborted_transactions entry of a fetch response: an aborted transaction, by where it began. */
export interface AbortedTransaction {
  producerId: number;
  /** Offset of the transaction's first batch in this partition. */
  firstOffset: number;
}

/** A batch as splitBatches returns it: its checked header and its bytes. */
export interface FetchedBatch {
  header: BatchHeader;
  bytes: Uint8Array;
}

/**
 * Reads an isolation level: missing, null or "" is read_uncommitted (Kafka's default); anything
 * but the two names (exact, lower case, as Kafka's config accepts them) throws INVALID_REQUEST.
 *
 * @example
 * parseIsolation(new URL(request.url).searchParams.get("isolation")); // "read_uncommitted"
 */
export function parseIsolation(value: string | null | undefined): IsolationLevel {
  if (value === undefined || value === null || value === "") return "read_uncommitted";
  if ((ISOLATION_LEVELS as readonly string[]).includes(value)) return value as IsolationLevel;
  throw new EdgelogError("INVALID_REQUEST", `isolation level "${value}" is unknown: use read_uncommitted or read_committed`);
}

/**
 * The batches a read_committed consumer keeps, in order: non-transactional batches, and
 * transactional data batches outside the aborted transactions. Control batches are never kept.
 * `batches` must be one partition's, in offset order (CORRUPT_MESSAGE otherwise); a control batch
 * is read with readControlRecord (CORRUPT_MESSAGE if it is not a valid marker). `aborted` may be
 * in any order. The kept items are the ones given (same objects), so callers may carry more fields.
 *
 * @example
 * const kept = committedBatches(splitBatches(records, { allowPartialTail: true }), abortedTransactions);
 * for (const { bytes } of kept) for (const record of await decodeRecords(bytes)) handle(record);
 */
export function committedBatches<T extends FetchedBatch>(batches: Iterable<T>, aborted: readonly AbortedTransaction[]): T[] {
  const pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  let next = 0;
  const abortedProducers = new Set<number>();
  const kept: T[] = [];
  let previousLast = -1;
  for (const batch of batches) {
    const { header } = batch;
    const last = header.baseOffset + header.lastOffsetDelta;
    if (header.baseOffset <= previousLast) {
      throw new EdgelogError(
        "CORRUPT_MESSAGE",
        `batch at offset ${header.baseOffset} is not after the previous batch's last offset ${previousLast}`,
      );
    }
    previousLast = last;
    // As Kafka's consumer: only batches with a producer can be transactional or end a transaction.
    if (header.producerId >= 0) {
      while (next < pending.length && pending[next].firstOffset <= last) abortedProducers.add(pending[next++].producerId);
      if (header.isControl) {
        if (readControlRecord(batch.bytes, header).type === "abort") abortedProducers.delete(header.producerId);
        continue;
      }
      if (header.isTransactional && abortedProducers.has(header.producerId)) continue;
    } else if (header.isControl) continue;
    kept.push(batch);
  }
  return kept;
}
