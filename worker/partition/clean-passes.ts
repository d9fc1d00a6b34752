/**
 * What compaction remembers between passes, beside the log's own clean offset: when each pass
 * ended and how far it reached (table clean_passes), which dates every tombstone, and when the
 * oldest tombstone still kept may go (meta tombstone_due).
 *
 * A tombstone at offset o is first covered by the first pass whose end passes o; it is kept
 * delete.retention.ms from that pass's end (Kafka dates it from the cleaning of its segment). So
 * the tombstones a pass may remove are those below the furthest end of the passes that ended
 * at least delete.retention.ms ago: the tombstone horizon.
 */

/** The most passes remembered: dropping the oldest only dates some tombstones later (never earlier). */
const MAX_PASSES = 64;

export class CleanPasses {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Offsets below this may lose their tombstones at `now`. */
  horizon(now: number, deleteRetentionMs: number): number {
    const row = this.#sql
      .exec<{ end: number | null }>("SELECT MAX(end_offset) AS end FROM clean_passes WHERE at <= ?", now - deleteRetentionMs)
      .one();
    return row.end ?? 0;
  }

  /**
   * Records a pass that reached `endOffset` at `now`, and when the oldest tombstone it kept (at
   * `oldestTombstone`, or null for none) may go. Keeps the table small: of the passes already
   * past the horizon only the furthest matters, and at most MAX_PASSES are kept.
   */
  ended(endOffset: number, now: number, oldestTombstone: number | null, deleteRetentionMs: number): void {
    this.#sql.exec("INSERT OR REPLACE INTO clean_passes (end_offset, at) VALUES (?, ?)", endOffset, now);
    const horizon = this.horizon(now, deleteRetentionMs);
    this.#sql.exec("DELETE FROM clean_passes WHERE end_offset < ? AND at <= ?", horizon, now - deleteRetentionMs);
    this.#sql.exec(
      "DELETE FROM clean_passes WHERE end_offset NOT IN (SELECT end_offset FROM clean_passes ORDER BY end_offset DESC LIMIT ?)",
      MAX_PASSES,
    );
    if (oldestTombstone === null) {
      this.#sql.exec("DELETE FROM meta WHERE key = 'tombstone_due'");
      return;
    }
    const cover = this.#sql
      .exec<{ at: number }>("SELECT at FROM clean_passes WHERE end_offset > ? ORDER BY end_offset LIMIT 1", oldestTombstone)
      .toArray()[0];
    const due = (cover ? cover.at : now) + deleteRetentionMs + 1;
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('tombstone_due', ?)", String(due));
  }

  /** When a kept tombstone may be removed by a pass, or null when none is kept. */
  tombstoneDue(): number | null {
    const row = this.#sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'tombstone_due'").toArray()[0];
    return row ? Number(row.value) : null;
  }
}
