/**
 * What compaction (cleaner.ts) and its replication (replicator.ts) ask of the stored batches:
 * index seeks on the batches table, by offset, time index and position. Read-only; the log
 * (log.ts) makes every change.
 */
import { readBatchHeader } from "../../protocol/record-batch";

/** The most batches one sync range carries (as one read). */
const MAX_BATCHES_PER_RANGE = 10_000;

export class BatchIndex {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** The base offset of the last stored batch (which compaction never touches), or null for an empty log. */
  lastBatchBase(): number | null {
    const row = this.#sql.exec<{ base_offset: number }>("SELECT base_offset FROM batches ORDER BY base_offset DESC LIMIT 1").toArray()[0];
    return row ? row.base_offset : null;
  }

  /** The first batch whose running max timestamp is after `time` (records from it on are younger). */
  firstBatchAfter(time: number): { baseOffset: number; timeIndex: number } | null {
    const row = this.#sql
      .exec<{ base_offset: number; time_index: number }>(
        "SELECT base_offset, time_index FROM batches WHERE time_index > ? ORDER BY time_index, base_offset LIMIT 1",
        time,
      )
      .toArray()[0];
    return row ? { baseOffset: row.base_offset, timeIndex: row.time_index } : null;
  }

  /** The base offset of the batch holding `offset`, or of the first after it (compaction left a gap), or null. */
  batchStartingAt(offset: number): number | null {
    const holding = this.#sql
      .exec<{ base_offset: number; last_offset: number }>(
        "SELECT base_offset, last_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1",
        offset,
      )
      .toArray()[0];
    if (holding && holding.last_offset >= offset) return holding.base_offset;
    const next = this.#sql
      .exec<{ base_offset: number }>("SELECT base_offset FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1", offset)
      .toArray()[0];
    return next ? next.base_offset : null;
  }

  /** The running max timestamp of the first batch compaction has not reached, or null when it reached them all. */
  firstDirtyTime(cleanOffset: number): number | null {
    const row = this.#sql
      .exec<{ time_index: number }>("SELECT time_index FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1", cleanOffset)
      .toArray()[0];
    return row ? row.time_index : null;
  }

  /** Where the part of the log compaction has not reached begins, in bytes (see cleanOffset). */
  cleanPosition(cleanOffset: number, endPosition: number): number {
    const row = this.#sql
      .exec<{ position: number }>("SELECT position FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1", cleanOffset)
      .toArray()[0];
    return row ? row.position : endPosition;
  }

  /** The stored batches with base offsets in [from, to), up to `maxBytes` (at least one), for a follower's compaction sync. */
  batchesForSync(from: number, to: number, maxBytes: number): { data: Uint8Array; next: number } {
    const rows: ArrayBuffer[] = [];
    let bytes = 0;
    let next = to;
    for (const row of this.#sql.exec<{ base_offset: number; size: number; data: ArrayBuffer }>(
      "SELECT base_offset, size, data FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset LIMIT ?",
      from,
      to,
      MAX_BATCHES_PER_RANGE,
    )) {
      if (rows.length > 0 && bytes + row.size > maxBytes) {
        next = row.base_offset;
        break;
      }
      rows.push(row.data);
      bytes += row.size;
    }
    if (rows.length === MAX_BATCHES_PER_RANGE && next === to) {
      const last = new Uint8Array(rows[rows.length - 1]);
      const header = readBatchHeader(last, 0, { checkCrc: false });
      next = Math.min(to, header.baseOffset + header.lastOffsetDelta + 1);
    }
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const row of rows) {
      data.set(new Uint8Array(row), at);
      at += row.byteLength;
    }
    return { data, next };
  }
}
