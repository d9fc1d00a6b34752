/**
 * The partition's transactions (KIP-98), as Kafka's ProducerStateManager and transaction index
 * keep them: one row per transaction of a producer on this partition (table txns), from its
 * first transactional batch to its marker.
 *
 *   producer_id   the transactional producer
 *   first_offset  its first batch here in this transaction
 *   end_offset    the offset of the marker that ended it (COMMIT or ABORT), or null while ongoing
 *   aborted       1 when that marker was ABORT
 *
 * From it come the last stable offset (LSO): the high watermark, or the first offset of the
 * oldest transaction not yet stable (ongoing, or its marker not yet below the high watermark),
 * whichever is lower; read_committed reads stop there. And the aborted transactions a fetch
 * names (Kafka's FetchResponse aborted_transactions): each aborted transaction whose span
 * [first_offset, end_offset] meets the range read, so a consumer can drop their records.
 *
 * Every write here is made inside the log's own transaction for the batches that cause it.
 */
import type { BatchHeader } from "../../protocol/record-batch";

/** An aborted transaction as a fetch names it. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
}

export class TxnIndex {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /**
   * Records what a stored batch does to transactions: a transactional data batch opens its
   * producer's transaction (when none is open); a marker (`marker`: whether it aborts) ends it.
   */
  track(header: BatchHeader, baseOffset: number, marker: { abort: boolean } | null): void {
    if (!header.isTransactional || header.producerId < 0) return;
    if (marker) {
      this.#sql.exec(
        "UPDATE txns SET end_offset = ?, aborted = ? WHERE producer_id = ? AND end_offset IS NULL",
        baseOffset,
        marker.abort ? 1 : 0,
        header.producerId,
      );
      return;
    }
    if (this.ongoing(header.producerId) !== null) return;
    this.#sql.exec(
      "INSERT INTO txns (producer_id, first_offset, end_offset, aborted) VALUES (?, ?, NULL, 0)",
      header.producerId,
      baseOffset,
    );
  }

  /** The first offset of the producer's ongoing transaction here, or null. */
  ongoing(producerId: number): number | null {
    const row = this.#sql
      .exec<{ first_offset: number }>("SELECT first_offset FROM txns WHERE producer_id = ? AND end_offset IS NULL", producerId)
      .toArray()[0];
    return row ? row.first_offset : null;
  }

  /** The last stable offset under `highWatermark` (see the file comment). */
  lastStableOffset(highWatermark: number): number {
    const row = this.#sql
      .exec<{ first: number | null }>(
        "SELECT MIN(first_offset) AS first FROM txns WHERE end_offset IS NULL OR end_offset >= ?",
        highWatermark,
      )
      .one();
    return row.first === null ? highWatermark : Math.min(highWatermark, row.first);
  }

  /** The aborted transactions whose spans meet [from, to). */
  abortedBetween(from: number, to: number): AbortedTxn[] {
    return this.#sql
      .exec<{ producer_id: number; first_offset: number }>(
        "SELECT producer_id, first_offset FROM txns WHERE aborted = 1 AND first_offset < ? AND end_offset >= ? ORDER BY first_offset",
        to,
        from,
      )
      .toArray()
      .map((r) => ({ producerId: r.producer_id, firstOffset: r.first_offset }));
  }

  /** Whether the producer's batch at `offset` belongs to an aborted transaction (compaction drops those records). */
  abortedAt(producerId: number, offset: number): boolean {
    return (
      this.#sql
        .exec(
          "SELECT 1 FROM txns WHERE producer_id = ? AND aborted = 1 AND first_offset <= ? AND end_offset > ? LIMIT 1",
          producerId,
          offset,
          offset,
        )
        .toArray().length > 0
    );
  }

  /** A divergent suffix from `cut` went: transactions begun there go, those it ended are ongoing again. */
  truncateFrom(cut: number): void {
    this.#sql.exec("DELETE FROM txns WHERE first_offset >= ?", cut);
    this.#sql.exec("UPDATE txns SET end_offset = NULL, aborted = 0 WHERE end_offset >= ?", cut);
  }

  /** Retention removed everything below `logStart`: transactions that ended there are forgotten. */
  dropBefore(logStart: number): void {
    this.#sql.exec("DELETE FROM txns WHERE end_offset IS NOT NULL AND end_offset < ?", logStart);
  }

  clear(): void {
    this.#sql.exec("DELETE FROM txns");
  }
}
