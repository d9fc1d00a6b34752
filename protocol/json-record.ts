/**
 * The JSON view of a stored record, shared by the worker's JSON API and the clients.
 *
 * A value stored with the header `content-type: application/json` is parsed back into its JSON
 * value; any other value that is UTF-8 is a string; bytes that are not UTF-8 are base64 with
 * `valueEncoding: "base64"` (keys likewise). Header values are strings (base64 when not UTF-8).
 */
import { toBase64 } from "./base64";
import { committedBatches, type AbortedTransaction } from "./isolation";
import { decodeRecords, splitBatches, type DecodedRecord } from "./record-batch";

export const JSON_CONTENT_TYPE = "application/json";
export const CONTENT_TYPE = "content-type";
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** A stored record as the JSON API shows it. */
export interface JsonRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string | null>;
  keyEncoding?: "base64";
  valueEncoding?: "base64";
}

function text(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Converts a decoded record to its JSON shape.
 *
 * @example
 * for (const r of await decodeRecords(batch)) console.log(toJsonRecord(r).value);
 */
export function toJsonRecord(record: DecodedRecord): JsonRecord {
  // No prototype: a header named "__proto__" is a header like any other.
  const headers: Record<string, string | null> = Object.create(null);
  let isJson = false;
  for (const h of record.headers) {
    const value = h.value === null ? null : (text(h.value) ?? toBase64(h.value));
    headers[h.key] = value;
    if (h.key.toLowerCase() === CONTENT_TYPE && value === JSON_CONTENT_TYPE) isJson = true;
  }
  const out: JsonRecord = { offset: record.offset, timestamp: record.timestamp, key: null, value: null, headers };
  if (record.key !== null) {
    const key = text(record.key);
    if (key === null) {
      out.key = toBase64(record.key);
      out.keyEncoding = "base64";
    } else out.key = key;
  }
  if (record.value !== null) {
    const value = text(record.value);
    if (value === null) {
      out.value = toBase64(record.value);
      out.valueEncoding = "base64";
    } else if (isJson) {
      try {
        out.value = JSON.parse(value);
      } catch {
        out.value = value;
      }
    } else out.value = value;
  }
  return out;
}

/**
 * The JSON records of a record set (stored batches, as fetch and push carry them) from `offset`
 * on, at most `maxRecords`: whole batches may begin before the offset, as Kafka's do. Control
 * batches (transaction markers) are skipped; with `aborted` (a read_committed fetch's aborted
 * transactions) so are the aborted transactions' records. Stops decoding once it has enough.
 *
 * @example
 * const records = await jsonRecordsFrom(fetchedBytes, 42, { maxRecords: 500 });
 */
export async function jsonRecordsFrom(
  data: Uint8Array,
  offset: number,
  {
    maxRecords = Infinity,
    maxUncompressedBytes,
    allowPartialTail = false,
    aborted,
  }: { maxRecords?: number; maxUncompressedBytes?: number; allowPartialTail?: boolean; aborted?: readonly AbortedTransaction[] } = {},
): Promise<JsonRecord[]> {
  const out: JsonRecord[] = [];
  const split = splitBatches(data, { allowPartialTail });
  // read_committed: the fetch's aborted transactions name the records to leave out.
  for (const { header, bytes } of aborted ? committedBatches(split, aborted) : split) {
    if (out.length >= maxRecords) break;
    // Transaction markers are the log's, never a consumer's records (as in Kafka).
    if (header.isControl) continue;
    for (const record of await decodeRecords(bytes, { maxUncompressedBytes, checkedHeader: header })) {
      if (record.offset < offset) continue;
      if (out.length >= maxRecords) break;
      out.push(toJsonRecord(record));
    }
  }
  return out;
}
