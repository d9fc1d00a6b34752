/**
 * The partition's idempotence state in SQLite: idempotent producers' entries (`producers`) and
 * plain-HTTP producers' idempotency keys with the offsets they were given (`request_keys`).
 *
 * It only reads and writes rows; the log decides. Its writes take no transaction of their own:
 * the log makes them inside the transaction that stores the batches, so a batch and the state
 * that recognises its retry commit together or not at all.
 */
import { EdgelogError } from "../../protocol/errors";
import type { ProducerEntry } from "./producer-state";
import type { AppendedBatch } from "./types";

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
    const seen = this.#sql.exec<{ digest: string; result: string }>("SELECT digest, result FROM request_keys WHERE key = ?", key).toArray()[0];
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

  /** Remembers what a request under `key` was answered. Call inside the append's transaction. */
  putRequestKey(key: string, digest: string | undefined, result: AppendedBatch[], now: number): void {
    this.#sql.exec(
      "INSERT INTO request_keys (key, digest, result, created_at) VALUES (?, ?, ?, ?)",
      key,
      digest ?? "",
      JSON.stringify(result),
      now,
    );
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
