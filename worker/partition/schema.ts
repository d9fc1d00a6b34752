/**
 * The partition object's SQLite tables.
 *
 * batches     one row per record batch, the bytes as validated and stamped with their offsets.
 *             `position` is the byte length of the log before the batch, so the size of any
 *             suffix is a subtraction (long-poll minBytes, retention.bytes) and nothing is summed.
 *             `time_index` is the running maximum of max_timestamp: monotonic, so "first offset
 *             at or after a timestamp" is an index seek, as Kafka's time index is.
 * meta        small key/value facts: the assignment (topic id, partition, epoch, config) and the
 *             log start offset/position once retention has removed batches.
 * producers   idempotent producer state: epoch, last sequence, and the last five batches'
 *             sequence ranges with their offsets, to answer a retried batch with its original
 *             offsets (Kafka keeps five too).
 * request_keys  idempotency keys of plain-HTTP producers, with the offsets they were given;
 *             `last_offset` (the newest offset the answer names) ships them to followers with
 *             their batches and drops them with a truncated suffix.
 * leader_epochs  where each leader epoch's batches start (see leader-epochs.ts).
 * txns        transactions on this partition, first batch to marker (txn-index.ts): the last
 *             stable offset and the aborted transactions a read_committed fetch needs.
 * clean_passes  compaction passes (cleaner.ts): how far each reached and when, which dates the
 *             tombstones it first covered (kept delete.retention.ms from then).
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (
  base_offset INTEGER PRIMARY KEY,
  last_offset INTEGER NOT NULL,
  position INTEGER NOT NULL,
  size INTEGER NOT NULL,
  max_timestamp INTEGER NOT NULL,
  time_index INTEGER NOT NULL,
  leader_epoch INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_time ON batches (time_index);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS producers (
  producer_id INTEGER PRIMARY KEY,
  epoch INTEGER NOT NULL,
  last_sequence INTEGER NOT NULL,
  recent TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS producers_by_age ON producers (updated_at);
CREATE TABLE IF NOT EXISTS request_keys (
  key TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS request_keys_by_age ON request_keys (created_at);
CREATE TABLE IF NOT EXISTS leader_epochs (epoch INTEGER PRIMARY KEY, start_offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS clean_passes (end_offset INTEGER PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txns (
  producer_id INTEGER NOT NULL,
  first_offset INTEGER NOT NULL,
  end_offset INTEGER,
  aborted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (producer_id, first_offset)
);
CREATE INDEX IF NOT EXISTS txns_by_end ON txns (end_offset);
CREATE INDEX IF NOT EXISTS txns_by_first ON txns (first_offset);
`;

/** Columns added after the first version, with their defaults for rows made before them. */
export const ADDED_COLUMNS = { request_keys: { last_offset: "INTEGER NOT NULL DEFAULT -1" } } as const;

/** Indexes over added columns: made once those columns exist. */
export const LATE_INDEXES = `
CREATE INDEX IF NOT EXISTS request_keys_by_offset ON request_keys (last_offset);
`;
