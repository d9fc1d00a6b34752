/**
 * Kafka RecordBatch v2 (magic 2): encode, check, split and decode. The one batch format edgelog
 * accepts on produce, stores, and serves on fetch, byte-compatible with Kafka and kafkajs.
 *
 * Wire grammar of a batch (big-endian; details in record-batch-header.ts and records.ts):
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 (= 2)
 *   | crc uint32 (CRC-32C of attributes .. end) | attributes int16 | lastOffsetDelta int32
 *   | baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16
 *   | baseSequence int32 | recordsCount int32 | records (raw, or gzip of the raw records)
 * Each record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint
 *   | keyLength varint (-1 null) | key | valueLength varint (-1 null) | value
 *   | headersCount varint | (headerKeyLength varint | key utf8 | headerValueLength varint | value)*
 *
 * This module is the import surface for the worker and the clients: it re-exports the header,
 * record and record-set pieces it is built from.
 */

import { gunzip, gzip } from "./compression";
import { EdgelogError } from "./errors";
import { ATTRIBUTE, COMPRESSION, RECORD_BATCH_OVERHEAD, readBatchHeader, writeBatchHeader } from "./record-batch-header";
import type { BatchHeader, Compression } from "./record-batch-header";
import { measureRecords, readRecords, writeRecords } from "./records";
import type { DecodedRecord, RecordInput, RecordReading } from "./records";
import { Writer } from "./varint";

export {
  ATTRIBUTE,
  BATCH_FIELD,
  COMPRESSION,
  LOG_OVERHEAD,
  MAGIC,
  RECORD_BATCH_OVERHEAD,
  assignOffsets,
  readBatchHeader,
} from "./record-batch-header";
export type { BatchHeader, Compression } from "./record-batch-header";
export type { DecodedRecord, RecordHeader, RecordInput } from "./records";
export { splitBatches } from "./record-set";

/** Header fields and defaults for encodeBatch. */
export interface BatchOptions {
  /** Default 0: a broker assigns the real one on append. */
  baseOffset?: number;
  /** Default -1 (no leader epoch known), as Kafka's producer writes. */
  partitionLeaderEpoch?: number;
  /** Default -1: not idempotent. */
  producerId?: number;
  /** Default -1: not idempotent. */
  producerEpoch?: number;
  /** Default -1: not idempotent. */
  baseSequence?: number;
  /** Default "none". Only "none" and "gzip" can be encoded. */
  compression?: Compression;
  /** Create time for records without their own; default Date.now(). */
  timestamp?: number;
  isTransactional?: boolean;
}

/**
 * Default gzip inflation limit of decodeRecords / validateBatch (64 MiB).
 *
 * @example
 * await decodeRecords(batch, { maxUncompressedBytes: DEFAULT_MAX_UNCOMPRESSED_BYTES / 8 });
 */
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;
const INT32_MAX = 0x7fffffff;

/**
 * Encodes records into one v2 batch (gzip compression is async, hence the Promise). Producer
 * fields default to -1 (no idempotence). baseTimestamp is the first record's timestamp, as Kafka's
 * producer writes it. Throws INVALID_RECORD for bad inputs or a codec other than none/gzip,
 * INVALID_TIMESTAMP for a timestamp that is not a non-negative safe integer.
 *
 * @example
 * const batch = await encodeBatch(
 *   [{ key: null, value: new TextEncoder().encode("hello"), headers: [{ key: "trace", value: null }] }],
 *   { compression: "gzip", producerId: 7, producerEpoch: 0, baseSequence: 0 },
 * );
 */
export async function encodeBatch(records: RecordInput[], options: BatchOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const compression = options.compression ?? "none";
  if (compression !== "none" && compression !== "gzip") {
    const known = Object.hasOwn(COMPRESSION, compression);
    throw new EdgelogError(
      "INVALID_RECORD",
      `compression "${String(compression)}" ${known ? "is not supported by edgelog (use none or gzip)" : "is unknown"}`,
    );
  }
  const baseOffset = checkInteger("baseOffset", options.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const partitionLeaderEpoch = checkInteger("partitionLeaderEpoch", options.partitionLeaderEpoch ?? -1, -1, INT32_MAX);
  const producerId = checkInteger("producerId", options.producerId ?? -1, -1, Number.MAX_SAFE_INTEGER);
  const producerEpoch = checkInteger("producerEpoch", options.producerEpoch ?? -1, -1, 0x7fff);
  const baseSequence = checkInteger("baseSequence", options.baseSequence ?? -1, -1, INT32_MAX);
  const count = records.length;
  if (count === 0) throw new EdgelogError("INVALID_RECORD", "a record batch needs at least one record");
  if (baseOffset + count - 1 > Number.MAX_SAFE_INTEGER)
    throw new EdgelogError("INVALID_RECORD", "the batch's last offset is outside the safe integer range");

  const timestamps = new Float64Array(count);
  const fallback = options.timestamp ?? Date.now();
  let maxTimestamp = -1;
  for (let i = 0; i < count; i++) {
    const record = records[i];
    if (record === null || typeof record !== "object") throw new EdgelogError("INVALID_RECORD", `record ${i} is not an object`);
    const timestamp = record.timestamp ?? fallback;
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
      throw new EdgelogError("INVALID_TIMESTAMP", `record ${i}: timestamp ${timestamp} is not a non-negative safe integer`);
    }
    timestamps[i] = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  }
  const baseTimestamp = timestamps[0];

  const bodySizes = new Int32Array(count);
  const recordsSize = measureRecords(records, timestamps, baseTimestamp, bodySizes);

  let batch: Uint8Array<ArrayBuffer>;
  if (compression === "none") {
    if (recordsSize > INT32_MAX - RECORD_BATCH_OVERHEAD) throw tooLarge(recordsSize);
    const writer = new Writer(RECORD_BATCH_OVERHEAD + recordsSize);
    writer.pos = RECORD_BATCH_OVERHEAD;
    writeRecords(writer, records, timestamps, baseTimestamp, bodySizes);
    batch = exactly(writer, RECORD_BATCH_OVERHEAD + recordsSize);
  } else {
    const writer = new Writer(recordsSize);
    writeRecords(writer, records, timestamps, baseTimestamp, bodySizes);
    const compressed = await gzip(exactly(writer, recordsSize));
    if (compressed.length > INT32_MAX - RECORD_BATCH_OVERHEAD) throw tooLarge(compressed.length);
    batch = new Uint8Array(RECORD_BATCH_OVERHEAD + compressed.length);
    batch.set(compressed, RECORD_BATCH_OVERHEAD);
  }

  writeBatchHeader(batch, {
    baseOffset,
    partitionLeaderEpoch,
    attributes: COMPRESSION[compression] | (options.isTransactional ? ATTRIBUTE.transactional : 0),
    lastOffsetDelta: count - 1,
    baseTimestamp,
    maxTimestamp,
    producerId,
    producerEpoch,
    baseSequence,
    recordCount: count,
  });
  return batch;
}

/**
 * Decodes a batch's records (decompressing gzip), validating everything: the header (see
 * readBatchHeader), the batch filling `batch` exactly, recordsCount >= 1 and equal to the records
 * present, offsetDeltas strictly increasing up to lastOffsetDelta (a compacted batch keeps its
 * offsets and so has gaps; `dense` demands 0..n-1 and lastOffsetDelta === n-1, a producer's
 * shape), every length inside its record,
 * records ending exactly at the batch end, UTF-8 header keys. Keys and values are views into
 * `batch` (or into the decompressed buffer). `maxUncompressedBytes` (default 64 MiB) guards gzip.
 * snappy, lz4 and zstd are UNSUPPORTED_FOR_MESSAGE_FORMAT; other faults are CORRUPT_MESSAGE.
 *
 * @example
 * for (const record of await decodeRecords(batch)) console.log(record.offset, record.value);
 */
export async function decodeRecords(batch: Uint8Array, options: ReadOptions = {}): Promise<DecodedRecord[]> {
  const [, records] = await readBatch(batch, true, options);
  return records;
}

/**
 * Validates a batch completely (header + records) without returning them; same checks and errors
 * as decodeRecords, without allocating per record.
 *
 * @example
 * const header = await validateBatch(body, { maxUncompressedBytes: 8 * 1024 * 1024 });
 */
export async function validateBatch(batch: Uint8Array, options: ReadOptions = {}): Promise<BatchHeader> {
  const [header] = await readBatch(batch, false, options);
  return header;
}

/** Options of decodeRecords and validateBatch. */
export interface ReadOptions {
  /** Guards gzip: the most bytes a batch may decompress to (default 64 MiB). */
  maxUncompressedBytes?: number;
  /**
   * The batch's header as splitBatches (or readBatchHeader) already checked it, CRC included:
   * given, the header is not read and the CRC not computed a second time.
   */
  checkedHeader?: BatchHeader;
  /**
   * Demand a producer's shape: offsetDeltas exactly 0..n-1 and lastOffsetDelta n-1. Without it a
   * compacted batch (records removed, offsets kept) is valid too.
   */
  dense?: boolean;
}

async function readBatch(batch: Uint8Array, collect: boolean, options: ReadOptions): Promise<[BatchHeader, DecodedRecord[]]> {
  const [header, records] = await readBatchRecords(batch, { collect, dense: false }, options);
  return [header, records];
}

/**
 * readBatch with the record reading spelled out (see records.ts RecordReading): the one place a
 * batch is checked and its records read, for decodeRecords, validateBatch and compaction.
 * `reading.dense` is overridden by `options.dense` when that is set. Returns the buffer the records
 * were read from (the batch, or its decompressed records) so that spans can be cut from it.
 *
 * @example
 * const spans: number[] = [];
 * const [header, records, raw] = await readBatchRecords(batch, { collect: true, dense: false, spans });
 */
export async function readBatchRecords(
  batch: Uint8Array,
  reading: RecordReading,
  options: ReadOptions = {},
): Promise<[BatchHeader, DecodedRecord[], Uint8Array]> {
  const maxUncompressedBytes = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
  const header = options.checkedHeader ?? readBatchHeader(batch, 0);
  if (header.size !== batch.length) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `batchLength ${header.batchLength} frames ${header.size} bytes but the batch is ${batch.length} bytes`,
    );
  }
  if (header.recordCount === 0) throw new EdgelogError("CORRUPT_MESSAGE", "the batch holds no records (recordsCount 0)");
  const dense = options.dense ?? reading.dense;
  const how: RecordReading = { ...reading, dense };
  if (dense ? header.lastOffsetDelta !== header.recordCount - 1 : header.lastOffsetDelta < header.recordCount - 1) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `lastOffsetDelta ${header.lastOffsetDelta} disagrees with recordsCount ${header.recordCount}`,
    );
  }
  if (header.baseOffset + header.lastOffsetDelta > Number.MAX_SAFE_INTEGER) {
    throw new EdgelogError("CORRUPT_MESSAGE", "the batch's last offset is outside the safe integer range");
  }
  switch (header.compression) {
    case "none":
      return [header, readRecords(batch, RECORD_BATCH_OVERHEAD, batch.length, header, how), batch];
    case "gzip": {
      const raw = await gunzip(batch.subarray(RECORD_BATCH_OVERHEAD), maxUncompressedBytes);
      return [header, readRecords(raw, 0, raw.length, header, how), raw];
    }
    default:
      throw new EdgelogError(
        "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        `compression codec ${header.compression} is not supported by edgelog: produce with none or gzip`,
      );
  }
}

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new EdgelogError("INVALID_RECORD", `${field} ${value} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

/** The writer's bytes, after checking the write pass produced exactly what the measure pass sized. */
function exactly(writer: Writer, size: number): Uint8Array<ArrayBuffer> {
  if (writer.pos !== size || writer.bytes.length !== size) {
    throw new Error(`edgelog bug: records measured ${size} bytes but ${writer.pos} were written`);
  }
  return writer.bytes;
}

function tooLarge(size: number): EdgelogError {
  return new EdgelogError("MESSAGE_TOO_LARGE", `the records take ${size} bytes, more than a batch can frame`);
}
