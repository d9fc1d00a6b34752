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
import type { z } from "zod";
import type { RecordIn } from "../../../protocol/api/records";

const encoder = new TextEncoder();
/** The header that marks a JSON value; one shared instance, only ever read. */
const JSON_VALUE_HEADER: RecordHeader = { key: CONTENT_TYPE, value: encoder.encode(JSON_CONTENT_TYPE) };

/** A record of a produce body, as its schema (protocol/api/records.ts RecordIn) validated it. */
export type JsonRecordBody = z.output<typeof RecordIn>;

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
function base64Field(value: unknown, index: number, name: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") refuse(index, `${name} must be a base64 string when ${name}Encoding is "base64"`);
  try {
    return fromBase64(value);
  } catch {
    refuse(index, `${name} is not valid base64`);
  }
}

/**
 * Converts validated records (their shape was checked by the route's schema) to RecordInputs;
 * what a schema cannot say (base64 that does not decode) is INVALID_RECORD.
 */
export function parseJsonRecords(records: readonly JsonRecordBody[]): JsonRecordInput[] {
  return records.map((r, index) => {
    let key: Uint8Array | null;
    if (r.keyEncoding !== undefined) key = base64Field(r.key, index, "key");
    else key = r.key === undefined || r.key === null ? null : encoder.encode(r.key);

    const headers: RecordHeader[] = [];
    if (r.headers !== undefined) {
      for (const [name, value] of Object.entries(r.headers)) {
        if (name.toLowerCase() === CONTENT_TYPE) continue;
        headers.push({ key: name, value: value === null ? null : encoder.encode(value) });
      }
    }

    let value: Uint8Array | null;
    if (r.valueEncoding !== undefined) value = base64Field(r.value, index, "value");
    else if (r.value === undefined || r.value === null) value = null;
    else if (typeof r.value === "string") value = encoder.encode(r.value);
    else {
      value = encoder.encode(JSON.stringify(r.value));
      headers.push(JSON_VALUE_HEADER);
    }
    return { record: { key, value, headers, timestamp: r.timestamp }, key, partition: r.partition };
  });
}
