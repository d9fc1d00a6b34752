/**
 * The partition's idempotence state in SQLite: idempotent producers' entries (`producers`) and
 * plain-HTTP producers' idempotency keys with the offsets they were given (`request_keys`).
 *
 * It only reads and writes rows; the log decides. Its writes take no transaction of their own:
 * the log makes them inside the transaction that stores the batches, so a batch and the state
 * that recognises its retry commit together or not at all.
 */
import { EdgelogError } from "../../protocol/errors";
import type { BatchHeader } from "../../protocol/record-batch";
import type { ProducerEntry } from "./producer-state";
import type { AppendedBatch } from "./types";

/** An idempotency key as stored, and as a leader ships it to followers. */
export interface RequestKeyRow {
  key: string;
  digest: string;
  result: string;
  created_at: number;
  last_offset: number;
}

export class IdempotenceStore {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /**
   * The batches first answered under `key` (marked as duplicates), or undefined for a new key.
   * INVALID_REQUEST when the key was used before for a request with another digest.
   */
  answered(key: string, digest: string | undefined): AppendedBatch[] | undefined {
    const seen = this.#sql
      .exec<{ digest: string; result: string }>("SELECT digest, result FROM request_keys WHERE key = ?", key)
      .toArray()[0];
    if (!seen) return undefined;
    if (seen.digest !== digest) {
      throw new EdgelogError("INVALID_REQUEST", `idempotency key ${JSON.stringify(key)} was used before for a different request`);
    }
    return (JSON.parse(seen.result) as AppendedBatch[]).map((b) => ({ ...b, duplicate: true }));
  }

  /** The producer's entry, or undefined for a producer this partition does not know. */
  producer(producerId: number): ProducerEntry | undefined {
    const row = this.#sql
      .exec<{ epoch: number; last_sequence: number; recent: string }>(
        "SELECT epoch, last_sequence, recent FROM producers WHERE producer_id = ?",
        producerId,
      )
      .toArray()[0];
    return row ? { epoch: row.epoch, lastSequence: row.last_sequence, recent: JSON.parse(row.recent) } : undefined;
  }

  /** Writes the producers' new entries (undefined ones are skipped). Call inside the append's transaction. */
  putProducers(producers: Map<number, ProducerEntry | undefined>, now: number): void {
    for (const [producerId, entry] of producers) {
      if (!entry) continue;
      this.#sql.exec(
        "INSERT OR REPLACE INTO producers (producer_id, epoch, last_sequence, recent, updated_at) VALUES (?, ?, ?, ?, ?)",
        producerId,
        entry.epoch,
        entry.lastSequence,
        JSON.stringify(entry.recent),
        now,
      );
    }
  }

  /**
   * Remembers what a request under `key` was answered. Call inside the append's transaction.
   * `logEnd` places a key whose answer names no offset (a request with no records here, as on a
   * key's home partition): it ships to followers with the next batch appended after it.
   */
  putRequestKey(key: string, digest: string | undefined, result: AppendedBatch[], now: number, logEnd: number): void {
    this.#sql.exec(
      "INSERT INTO request_keys (key, digest, result, created_at, last_offset) VALUES (?, ?, ?, ?, ?)",
      key,
      digest ?? "",
      JSON.stringify(result),
      now,
      result.length > 0 ? Math.max(...result.map((b) => b.lastOffset)) : logEnd,
    );
  }

  /** Keys whose answers' newest offset is in [from, to). */
  keysBetween(from: number, to: number): RequestKeyRow[] {
    return this.#sql
      .exec<RequestKeyRow & Record<string, SqlStorageValue>>(
        "SELECT key, digest, result, created_at, last_offset FROM request_keys WHERE last_offset >= ? AND last_offset < ?",
        from,
        to,
      )
      .toArray();
  }

  /** Stores keys a leader shipped. Call inside the replicated append's transaction. */
  putKeys(rows: RequestKeyRow[]): void {
    for (const r of rows) {
      this.#sql.exec(
        "INSERT OR REPLACE INTO request_keys (key, digest, result, created_at, last_offset) VALUES (?, ?, ?, ?, ?)",
        r.key,
        r.digest,
        r.result,
        r.created_at,
        r.last_offset,
      );
    }
  }

  /**
   * Rolls the state back to before a truncated suffix (`dropped`: the headers of the batches
   * from `cut` on, in order): keys naming dropped offsets are forgotten, and each producer that
   * wrote there returns to the sequence before its first dropped batch, so its retry of those
   * batches is appended again rather than answered as a duplicate.
   */
  rollBack(dropped: BatchHeader[], cut: number): void {
    this.#sql.exec("DELETE FROM request_keys WHERE last_offset >= ?", cut);
    const first = new Map<number, BatchHeader>();
    for (const h of dropped) if (h.producerId >= 0 && !first.has(h.producerId)) first.set(h.producerId, h);
    for (const [producerId, header] of first) {
      const entry = this.producer(producerId);
      if (!entry) continue;
      const recent = entry.recent.filter((r) => r[3] < cut);
      if (recent.length === 0 && header.baseSequence === 0) {
        // The producer (or this epoch of it) began in the dropped suffix: as if never seen.
        this.#sql.exec("DELETE FROM producers WHERE producer_id = ?", producerId);
        continue;
      }
      const epoch = recent.length > 0 ? entry.epoch : header.producerEpoch;
      const lastSequence = recent.length > 0 ? recent[recent.length - 1][1] : header.baseSequence - 1;
      this.#sql.exec(
        "UPDATE producers SET epoch = ?, last_sequence = ?, recent = ? WHERE producer_id = ?",
        epoch,
        lastSequence,
        JSON.stringify(recent),
        producerId,
      );
    }
  }

  /** Forgets idempotency keys created before `before`, and producers idle since before `idleBefore`. */
  expire(before: number, idleBefore: number): void {
    this.#sql.exec("DELETE FROM request_keys WHERE created_at < ?", before);
    this.#sql.exec("DELETE FROM producers WHERE updated_at < ?", idleBefore);
  }

  /** The oldest idempotency key's creation time and the longest-idle producer's last write. */
  oldest(): { key: number | null; producer: number | null } {
    const key = this.#sql.exec<{ t: number | null }>("SELECT MIN(created_at) AS t FROM request_keys").one().t;
    const producer = this.#sql.exec<{ t: number | null }>("SELECT MIN(updated_at) AS t FROM producers").one().t;
    return { key, producer };
  }
}
