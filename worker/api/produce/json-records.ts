/**
 * The JSON shape of a record, both ways.
 *
 * In:  {"key": "k" | null, "value": <any JSON>, "partition"?: p, "headers"?: {"h": "v"},
 *       "timestamp"?: ms, "keyEncoding"?: "base64", "valueEncoding"?: "base64"}
 * Out: {"offset", "timestamp", "key", "value", "headers"} (+ "keyEncoding"/"valueEncoding": "base64"
 *       for bytes that are not UTF-8).
 *
 * A string value is stored as its UTF-8 bytes, as any Kafka producer would store it. Any other JSON
 * value is stored as its JSON text with the header `content-type: application/json`, so the stored
 * record says which it was and `"123"` comes back a string while `123` comes back a number.
 * A null (or absent) value is Kafka's null value (a tombstone) and comes back null.
 */
import { fromBase64 } from "../../../protocol/base64";
import { EdgelogError } from "../../../protocol/errors";
import { CONTENT_TYPE, JSON_CONTENT_TYPE } from "../../../protocol/json-record";
import type { RecordHeader, RecordInput } from "../../../protocol/record-batch";

const FIELDS = new Set(["key", "value", "partition", "headers", "timestamp", "keyEncoding", "valueEncoding"]);
const encoder = new TextEncoder();
/** The header that marks a JSON value; one shared instance, only ever read. */
const JSON_VALUE_HEADER: RecordHeader = { key: CONTENT_TYPE, value: encoder.encode(JSON_CONTENT_TYPE) };

/** A record from the JSON API, ready to encode, with the partition it asked for (if any). */
export interface JsonRecordInput {
  record: RecordInput;
  /** The key's bytes (for the partitioner), or null. */
  key: Uint8Array | null;
  partition: number | undefined;
}

function refuse(index: number, what: string): never {
  throw new EdgelogError("INVALID_RECORD", `records[${index}]: ${what}`);
}

/** A key or value given as base64 (`keyEncoding`/`valueEncoding: "base64"`). */
function base64Field(value: unknown, encoding: unknown, index: number, name: string): Uint8Array | null {
  if (encoding !== "base64") refuse(index, `${name}Encoding must be "base64" when given`);
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") refuse(index, `${name} must be a base64 string when ${name}Encoding is "base64"`);
  try {
    return fromBase64(value);
  } catch {
    refuse(index, `${name} is not valid base64`);
  }
}

/** Validates `records` from a produce body and converts each to a RecordInput. */
export function parseJsonRecords(records: unknown, maxRecords: number): JsonRecordInput[] {
  if (!Array.isArray(records) || records.length === 0) {
    throw new EdgelogError("INVALID_REQUEST", `"records" must be a non-empty array`);
  }
  if (records.length > maxRecords) {
    throw new EdgelogError("RECORD_LIST_TOO_LARGE", `at most ${maxRecords} records per request, got ${records.length}`);
  }
  return records.map((raw, index) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) refuse(index, "must be an object");
    const r = raw as Record<string, unknown>;
    for (const field of Object.keys(r)) if (!FIELDS.has(field)) refuse(index, `unknown field "${field}"`);

    let key: Uint8Array | null;
    if (r.keyEncoding !== undefined) key = base64Field(r.key, r.keyEncoding, index, "key");
    else if (r.key === undefined || r.key === null) key = null;
    else if (typeof r.key === "string") key = encoder.encode(r.key);
    else refuse(index, "key must be a string or null");

    const headers: RecordHeader[] = [];
    if (r.headers !== undefined) {
      if (typeof r.headers !== "object" || r.headers === null || Array.isArray(r.headers)) refuse(index, "headers must be an object of strings");
      for (const [name, value] of Object.entries(r.headers)) {
        if (value !== null && typeof value !== "string") refuse(index, `header "${name}" must be a string or null`);
        if (name.toLowerCase() === CONTENT_TYPE) continue;
        headers.push({ key: name, value: value === null ? null : encoder.encode(value) });
      }
    }

    let value: Uint8Array | null;
    if (r.valueEncoding !== undefined) value = base64Field(r.value, r.valueEncoding, index, "value");
    else if (r.value === undefined || r.value === null) value = null;
    else if (typeof r.value === "string") value = encoder.encode(r.value);
    else {
      value = encoder.encode(JSON.stringify(r.value));
      headers.push(JSON_VALUE_HEADER);
    }

    let timestamp: number | undefined;
    if (r.timestamp !== undefined) {
      if (!Number.isSafeInteger(r.timestamp) || (r.timestamp as number) < 0) refuse(index, "timestamp must be milliseconds since the epoch (a non-negative integer)");
      timestamp = r.timestamp as number;
    }
    let partition: number | undefined;
    if (r.partition !== undefined) {
      if (!Number.isSafeInteger(r.partition) || (r.partition as number) < 0) refuse(index, "partition must be a non-negative integer");
      partition = r.partition as number;
    }
    return { record: { key, value, headers, timestamp }, key, partition };
  });
}
