/**
 * The records of a RecordBatch v2: the bytes after recordsCount (or, for a compressed batch, the
 * decompressed form of those bytes).
 *
 * Wire grammar, per record (varint = zig-zag int32, varlong = zig-zag int64, see varint.ts):
 *   length             varint   bytes of the rest of this record
 *   attributes         int8     unused by Kafka so far: written 0, ignored on read
 *   timestampDelta     varlong  timestamp - baseTimestamp
 *   offsetDelta        varint   offset - baseOffset: 0, 1, 2... as a producer writes them; after
 *                               compaction strictly increasing with gaps, the last <= lastOffsetDelta
 *   keyLength          varint   -1 = null key
 *   key                bytes
 *   valueLength        varint   -1 = null value
 *   value              bytes
 *   headersCount       varint
 *   headers            headersCount times:
 *     headerKeyLength    varint   >= 0 (header keys are never null)
 *     headerKey          bytes    UTF-8
 *     headerValueLength  varint   -1 = null value
 *     headerValue        bytes
 * The smallest record is 7 bytes: length, attributes, the two deltas, two -1 lengths, no headers.
 *
 * Encoding sizes every record first so the batch is written into one exact buffer; decoding
 * returns keys and values as views of the buffer it reads (no copies).
 */

import { EdgelogError } from "./errors";
import type { BatchHeader } from "./record-batch-header";
import { utf8Length, readUtf8 } from "./utf8";
import { Reader, varintSize, varlongSize } from "./varint";
import type { Writer } from "./varint";

/** A record header: a UTF-8 key (repeatable) and bytes or null. */
export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** A record to encode. */
export interface RecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  /** Create time in ms since the epoch; defaults to the batch's timestamp. */
  timestamp?: number;
}

/** A decoded record; key, value and header values are views into the batch (or its decompressed records). */
export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
}

const MIN_RECORD_SIZE = 7;
/** Stands in for headers when only validating, so that mode allocates nothing per record; never pushed to. */
const NO_HEADERS: RecordHeader[] = [];

function bytesFieldSize(bytes: Uint8Array | null | undefined, what: string, index: number): number {
  if (bytes == null) return 1; // varint -1
  if (!(bytes instanceof Uint8Array)) throw new EdgelogError("INVALID_RECORD", `record ${index}: ${what} must be a Uint8Array or null`);
  return varintSize(bytes.length) + bytes.length;
}

/**
 * Sizes each record's body (after its length varint) into `bodySizes` and returns the bytes all
 * records take. Also checks the shape of every input, so the write pass cannot fail halfway.
 *
 * @example
 * const sizes = new Int32Array(records.length);
 * const total = measureRecords(records, timestamps, baseTimestamp, sizes);
 */
export function measureRecords(
  records: readonly RecordInput[],
  timestamps: Float64Array,
  baseTimestamp: number,
  bodySizes: Int32Array,
): number {
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    let body =
      1 +
      varlongSize(timestamps[i] - baseTimestamp) +
      varintSize(i) +
      bytesFieldSize(record.key, "key", i) +
      bytesFieldSize(record.value, "value", i);
    const headers = record.headers;
    if (headers == null) body += 1;
    else {
      if (!Array.isArray(headers)) throw new EdgelogError("INVALID_RECORD", `record ${i}: headers must be an array`);
      body += varintSize(headers.length);
      for (const header of headers) {
        if (typeof header?.key !== "string") throw new EdgelogError("INVALID_RECORD", `record ${i}: a header key must be a string`);
        const keyLength = utf8Length(header.key);
        body += varintSize(keyLength) + keyLength + bytesFieldSize(header.value, `header "${header.key}" value`, i);
      }
    }
    bodySizes[i] = body;
    total += varintSize(body) + body;
  }
  return total;
}

/**
 * Writes the records measured by {@link measureRecords}, offsetDelta = index.
 *
 * @example
 * writeRecords(writer, records, timestamps, baseTimestamp, sizes);
 */
export function writeRecords(
  w: Writer,
  records: readonly RecordInput[],
  timestamps: Float64Array,
  baseTimestamp: number,
  bodySizes: Int32Array,
): void {
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    w.varint(bodySizes[i]);
    w.int8(0);
    w.varlong(timestamps[i] - baseTimestamp);
    w.varint(i);
    writeBytesField(w, record.key);
    writeBytesField(w, record.value);
    const headers = record.headers;
    if (headers == null) {
      w.varint(0);
      continue;
    }
    w.varint(headers.length);
    for (const header of headers) {
      const keyLength = utf8Length(header.key);
      w.varint(keyLength);
      w.utf8(header.key, keyLength);
      writeBytesField(w, header.value);
    }
  }
}

function writeBytesField(w: Writer, bytes: Uint8Array | null | undefined): void {
  if (bytes == null) {
    w.varint(-1);
    return;
  }
  w.varint(bytes.length);
  w.raw(bytes);
}

/** How readRecords reads: what it keeps and how strict it is about offsetDeltas. */
export interface RecordReading {
  /** Return the records (false: only check them, allocating nothing per record). */
  collect: boolean;
  /** Require offsetDeltas 0..n-1, as a producer writes them (false: a compacted batch's gaps are allowed). */
  dense: boolean;
  /** When given, each record's [start, end) byte positions in `bytes` are pushed to it, in order. */
  spans?: number[];
}

/**
 * Reads and checks the records in `bytes[start..end)` against their batch header: exactly
 * recordCount records, offsetDeltas strictly increasing and at most lastOffsetDelta (0..n-1
 * exactly when `dense`), every length inside its record, each
 * record's fields ending exactly at its length, the records ending exactly at `end`, UTF-8
 * header keys, non-negative safe-integer timestamps whose newest is the header's maxTimestamp
 * (create-time batches). With `collect` false it only checks (no allocations
 * per record) and returns an empty array. Throws CORRUPT_MESSAGE naming the record at fault.
 *
 * @example
 * const records = readRecords(batch, 61, batch.length, readBatchHeader(batch), { collect: true, dense: false });
 */
export function readRecords(bytes: Uint8Array, start: number, end: number, header: BatchHeader, reading: RecordReading): DecodedRecord[] {
  const { collect, dense, spans } = reading;
  const count = header.recordCount;
  if (count > (end - start) / MIN_RECORD_SIZE) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `recordsCount ${count} cannot fit in ${end - start} bytes of records (a record takes at least ${MIN_RECORD_SIZE})`,
    );
  }
  const out: DecodedRecord[] = collect ? new Array<DecodedRecord>(count) : [];
  const reader = new Reader(bytes, start, end);
  const { baseOffset, baseTimestamp, maxTimestamp, lastOffsetDelta } = header;
  let previousDelta = -1;
  const logAppend = header.timestampType === "logAppend";
  let newest = -Infinity;
  let i = 0;
  try {
    for (; i < count; i++) {
      if (reader.pos >= end) throw new EdgelogError("CORRUPT_MESSAGE", `recordsCount is ${count} but the records end after ${i}`);
      reader.end = end;
      const recordStart = reader.pos;
      const length = reader.varint();
      const recordEnd = reader.pos + length;
      if (length < MIN_RECORD_SIZE - 1) throw new EdgelogError("CORRUPT_MESSAGE", `length ${length} is shorter than any record`);
      if (recordEnd > end)
        throw new EdgelogError("CORRUPT_MESSAGE", `length ${length} runs ${byteCount(recordEnd - end)} past the end of the records`);
      reader.end = recordEnd; // every field read below is now confined to this record
      reader.skip(1); // attributes: unused
      const timestampDelta = reader.varlong();
      const offsetDelta = reader.varint();
      if (dense ? offsetDelta !== i : offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
        const expected = dense ? `${i}` : `in (${previousDelta}, ${lastOffsetDelta}]`;
        throw new EdgelogError("CORRUPT_MESSAGE", `offsetDelta ${offsetDelta} is out of order (expected ${expected})`);
      }
      previousDelta = offsetDelta;
      const key = readBytesField(reader, "key", collect);
      const value = readBytesField(reader, "value", collect);
      const headerCount = reader.varint();
      if (headerCount < 0) throw new EdgelogError("CORRUPT_MESSAGE", `headersCount ${headerCount} is negative`);
      const headers: RecordHeader[] = collect ? [] : NO_HEADERS;
      for (let h = 0; h < headerCount; h++) {
        const keyLength = reader.varint();
        if (keyLength < 0) throw new EdgelogError("CORRUPT_MESSAGE", `header ${h} key length ${keyLength} is negative`);
        const keyStart = reader.pos;
        reader.skip(keyLength);
        const headerKey = readUtf8(bytes, keyStart, reader.pos, `header ${h} key`);
        const headerValue = readBytesField(reader, `header ${h} value`, collect);
        if (collect) headers.push({ key: headerKey, value: headerValue });
      }
      if (reader.pos !== recordEnd) {
        throw new EdgelogError(
          "CORRUPT_MESSAGE",
          `length ${length} is ${byteCount(recordEnd - reader.pos)} longer than the record's fields`,
        );
      }
      const timestamp = logAppend ? maxTimestamp : baseTimestamp + timestampDelta;
      if (!Number.isSafeInteger(timestamp))
        throw new EdgelogError("CORRUPT_MESSAGE", `timestamp ${timestamp} is outside the safe integer range`);
      if (timestamp < 0) throw new EdgelogError("INVALID_TIMESTAMP", `timestamp ${timestamp} is negative`);
      if (timestamp > newest) newest = timestamp;
      if (collect) out[i] = { offset: baseOffset + offsetDelta, timestamp, key, value, headers };
      if (spans) spans.push(recordStart, recordEnd);
    }
  } catch (error) {
    if (error instanceof EdgelogError) throw new EdgelogError(error.code, `record ${i}: ${error.message}`);
    throw error;
  }
  if (reader.pos !== end) {
    throw new EdgelogError("CORRUPT_MESSAGE", `recordsCount is ${count} but ${byteCount(end - reader.pos)} follow the last record`);
  }
  // Retention and the time index trust maxTimestamp: it must be what the records say.
  if (!logAppend && newest !== maxTimestamp) {
    throw new EdgelogError("CORRUPT_MESSAGE", `maxTimestamp ${maxTimestamp} is not the newest record timestamp ${newest}`);
  }
  return out;
}

function byteCount(n: number): string {
  return n === 1 ? "1 byte" : `${n} bytes`;
}

function readBytesField(reader: Reader, what: string, collect: boolean): Uint8Array | null {
  const length = reader.varint();
  if (length === -1) return null;
  if (length < -1) throw new EdgelogError("CORRUPT_MESSAGE", `${what} length ${length} is negative`);
  if (!collect) {
    reader.skip(length);
    return null;
  }
  return reader.bytesView(length);
}
