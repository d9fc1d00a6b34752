/**
 * A record as an outbox entry stores it: JSON data (IndexedDB-cloneable and readable in devtools),
 * key, value and header values in base64, its timestamp fixed when it was enqueued, an explicit
 * partition if it had one.
 */
import { fromBase64, toBase64 } from "../../protocol/base64";
import type { RecordInput } from "../../protocol/record-batch";

/** A record as an outbox entry stores it: JSON data, bytes in base64. */
export interface StoredRecord {
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
  timestamp: number;
  partition?: number;
}

/** Converts a record (as the producer encodes it) to its stored form. */
export function toStoredRecord(record: RecordInput, partition?: number): StoredRecord {
  const stored: StoredRecord = {
    key: record.key === null ? null : toBase64(record.key),
    value: record.value === null ? null : toBase64(record.value),
    headers: (record.headers ?? []).map((h) => [h.key, h.value === null ? null : toBase64(h.value)]),
    timestamp: record.timestamp ?? Date.now(),
  };
  if (partition !== undefined) stored.partition = partition;
  return stored;
}

export function fromStoredRecord(stored: StoredRecord): RecordInput {
  return {
    key: stored.key === null ? null : fromBase64(stored.key),
    value: stored.value === null ? null : fromBase64(stored.value),
    headers: stored.headers.map(([key, value]) => ({ key, value: value === null ? null : fromBase64(value) })),
    timestamp: stored.timestamp,
  };
}
