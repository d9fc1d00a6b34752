/**
 * Producer records: their validation, and their conversion to the codec's RecordInput as the JSON
 * API does it (worker/produce/json-records.ts), so the JSON fetch API and consumers read them back
 * alike; with an upper bound of each record's encoded size, for batching.
 */
import { EdgelogError } from "../../protocol/errors";
import { CONTENT_TYPE, JSON_CONTENT_TYPE } from "../../protocol/json-record";
import type { RecordHeader, RecordInput } from "../../protocol/record-batch";

/** A record to produce. */
export interface ProducerRecord {
  /** Places the record (murmur2 of its bytes); a string is stored as UTF-8. */
  key?: string | Uint8Array | null;
  /**
   * As the JSON API stores it: a string as its UTF-8 bytes, bytes as they are, null as a tombstone,
   * any other JSON value as JSON text with the header content-type: application/json.
   */
  value: unknown;
  /** Header values are stored as UTF-8. A content-type header is dropped unless the value is bytes. */
  headers?: Record<string, string | null>;
  partition?: number;
  /** Create time in ms; default: when send() or enqueue() was called. */
  timestamp?: number;
}

/** A validated record, with what placing and batching need to know of it. */
export interface PlacedRecord {
  record: RecordInput;
  key: Uint8Array | null;
  partition: number | undefined;
  size: number;
}

const encoder = new TextEncoder();
const JSON_HEADER_VALUE = encoder.encode(JSON_CONTENT_TYPE);

export function checkTopic(topic: unknown): void {
  if (typeof topic !== "string" || topic.length === 0) throw new TypeError("topic must be a non-empty string");
}

function refuse(index: number, what: string, code: "INVALID_RECORD" | "INVALID_TIMESTAMP" = "INVALID_RECORD"): never {
  throw new EdgelogError(code, `records[${index}]: ${what}`);
}

/**
 * Validates records and converts them as the JSON API does (worker/produce/json-records.ts), so
 * the JSON fetch API and consumers read them back alike.
 */
export function toPlacedRecords(records: ProducerRecord[], now: number): PlacedRecord[] {
  if (!Array.isArray(records) || records.length === 0) throw new EdgelogError("INVALID_REQUEST", "records must be a non-empty array");
  return records.map((r, i) => {
    if (r === null || typeof r !== "object") refuse(i, "must be an object");
    let key: Uint8Array | null = null;
    if (typeof r.key === "string") key = encoder.encode(r.key);
    else if (r.key instanceof Uint8Array) key = r.key;
    else if (r.key !== undefined && r.key !== null) refuse(i, "key must be a string, bytes or null");

    const bytes = r.value instanceof Uint8Array ? r.value : r.value instanceof ArrayBuffer ? new Uint8Array(r.value) : null;
    const headers: RecordHeader[] = [];
    if (r.headers !== undefined) {
      if (r.headers === null || typeof r.headers !== "object" || Array.isArray(r.headers))
        refuse(i, "headers must be an object of strings");
      for (const [name, value] of Object.entries(r.headers)) {
        if (value !== null && typeof value !== "string") refuse(i, `header "${name}" must be a string or null`);
        // As the JSON API: whether a value is JSON is the value's to say, not a header's.
        if (bytes === null && name.toLowerCase() === CONTENT_TYPE) continue;
        headers.push({ key: name, value: value === null ? null : encoder.encode(value) });
      }
    }

    let value: Uint8Array | null;
    if (bytes !== null) value = bytes;
    else if (r.value === undefined || r.value === null) value = null;
    else if (typeof r.value === "string") value = encoder.encode(r.value);
    else {
      let text: string | undefined;
      try {
        text = JSON.stringify(r.value);
      } catch (err) {
        refuse(i, `value is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (text === undefined) refuse(i, "value must be a JSON value, a string or bytes");
      value = encoder.encode(text);
      headers.push({ key: CONTENT_TYPE, value: JSON_HEADER_VALUE });
    }

    const timestamp = r.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0)
      refuse(i, "timestamp must be milliseconds since the epoch (a non-negative integer)", "INVALID_TIMESTAMP");
    if (r.partition !== undefined && (!Number.isSafeInteger(r.partition) || r.partition < 0))
      refuse(i, "partition must be a non-negative integer");
    const record: RecordInput = { key, value, headers, timestamp };
    return { record, key, partition: r.partition, size: recordSizeBound(record) };
  });
}

/**
 * An upper bound of a record's encoded size: every varint at its widest (length 5, attributes 1,
 * timestampDelta 10, offsetDelta 5, key and value lengths 5 each, header count 5; per header two
 * lengths of 5 and at most 3 UTF-8 bytes per UTF-16 unit of its key).
 */
export function recordSizeBound(record: RecordInput): number {
  let size = 36 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const h of record.headers ?? []) size += 10 + 3 * h.key.length + (h.value?.length ?? 0);
  return size;
}
