/**
 * The fixed 61-byte header of a Kafka RecordBatch v2 (magic 2), and the checks that make a batch
 * safe to store, forward or decode.
 *
 * Wire grammar (big-endian; byte offsets from the start of the batch):
 *    0  baseOffset            int64   offset of the first record (rewritten by the broker on append)
 *    8  batchLength           int32   bytes after this field: the whole batch is batchLength + 12
 *   12  partitionLeaderEpoch  int32   rewritten by the broker on append
 *   16  magic                 int8    2 (0 and 1 are the legacy MessageSet formats, same position)
 *   17  crc                   uint32  CRC-32C of bytes 21..end of batch
 *   21  attributes            int16   bits 0-2 compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)
 *                                     bit 3 timestampType (0 create time, 1 log append time)
 *                                     bit 4 isTransactional, bit 5 isControl, others unused here
 *   23  lastOffsetDelta       int32   offset delta of the last record (recordsCount - 1)
 *   27  baseTimestamp         int64   timestamp of the first record; record deltas are from it
 *   35  maxTimestamp          int64   largest record timestamp (or the append time, bit 3 set)
 *   43  producerId            int64   -1 when the producer is not idempotent
 *   51  producerEpoch         int16   -1 when the producer is not idempotent
 *   53  baseSequence          int32   -1 when the producer is not idempotent
 *   57  recordsCount          int32   number of records (also for compressed batches)
 *   61  records               ...     the records, or their compressed form (see records.ts)
 *
 * baseOffset, batchLength and partitionLeaderEpoch precede the CRC on purpose: the broker assigns
 * the first and last without touching the checksum, and batchLength is checked by framing.
 */

import { crc32c } from "./crc32c";
import { EdgelogError } from "./errors";

/**
 * Bytes of the v2 header, up to and including recordsCount.
 *
 * @example
 * const recordsBytes = batch.subarray(RECORD_BATCH_OVERHEAD); // raw or gzip records
 */
export const RECORD_BATCH_OVERHEAD = 61;

/**
 * baseOffset + batchLength: the bytes not counted by batchLength.
 *
 * @example
 * const size = batchLength + LOG_OVERHEAD;
 */
export const LOG_OVERHEAD = 12;

/**
 * Byte offset of each header field.
 *
 * @example
 * new DataView(batch.buffer, batch.byteOffset).getInt32(BATCH_FIELD.lastOffsetDelta);
 */
export const BATCH_FIELD = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
  records: 61,
} as const;

/**
 * The only batch format edgelog reads and writes.
 *
 * @example
 * batch[BATCH_FIELD.magic] === MAGIC;
 */
export const MAGIC = 2;

/**
 * Compression codec ids, attributes bits 0-2.
 *
 * @example
 * (attributes & ATTRIBUTE.compressionMask) === COMPRESSION.gzip;
 */
export const COMPRESSION = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
/** A codec name: "none" | "gzip" | "snappy" | "lz4" | "zstd". */
export type Compression = keyof typeof COMPRESSION;
const CODEC_NAMES: readonly Compression[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/**
 * Attribute bits other than the codec.
 *
 * @example
 * const transactional = (attributes & ATTRIBUTE.transactional) !== 0;
 */
export const ATTRIBUTE = {
  compressionMask: 0x07,
  logAppendTime: 0x08,
  transactional: 0x10,
  control: 0x20,
} as const;

/** A checked batch header, as readBatchHeader returns it; int64 fields are safe-integer numbers. */
export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  /** Whole batch size in bytes = batchLength + 12. */
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: Compression;
  timestampType: "create" | "logAppend";
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function safeInt64(view: DataView, at: number, field: string): number {
  const value = view.getBigInt64(at);
  if (value > MAX_SAFE || value < -MAX_SAFE) {
    throw new EdgelogError("CORRUPT_MESSAGE", `${field} ${value} is outside the safe integer range`);
  }
  return Number(value);
}

/**
 * Reads and checks the batch header at `at`: magic 2, batchLength inside the buffer and not
 * shorter than the header, a known codec, a non-negative record count, and a CRC-32C that
 * matches (unless `checkCrc` is false, for a batch the caller has just encoded). Records are not
 * decoded (see decodeRecords / validateBatch).
 * Throws CORRUPT_MESSAGE, or UNSUPPORTED_FOR_MESSAGE_FORMAT for magic 0/1 and other formats.
 *
 * @example
 * const header = readBatchHeader(batch);
 * header.baseOffset + header.lastOffsetDelta; // offset of the last record
 */
export function readBatchHeader(
  bytes: Uint8Array,
  at = 0,
  { checkCrc = true, headerOnly = false }: { checkCrc?: boolean; headerOnly?: boolean } = {},
): BatchHeader {
  const available = bytes.length - at;
  if (at < 0 || available < BATCH_FIELD.magic + 1) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `truncated batch: ${Math.max(available, 0)} bytes at byte ${at}, a v2 header needs ${RECORD_BATCH_OVERHEAD}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, available);
  // Magic first: legacy message sets keep it at the same position but frame differently.
  const magic = view.getInt8(BATCH_FIELD.magic);
  if (magic !== MAGIC) {
    throw new EdgelogError(
      "UNSUPPORTED_FOR_MESSAGE_FORMAT",
      `record batch magic ${magic} is not supported: edgelog reads RecordBatch v2 (magic 2) only`,
    );
  }
  const batchLength = view.getInt32(BATCH_FIELD.batchLength);
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `batchLength ${batchLength} is smaller than the ${RECORD_BATCH_OVERHEAD - LOG_OVERHEAD} bytes its header takes`,
    );
  }
  const size = batchLength + LOG_OVERHEAD;
  // headerOnly: the caller holds just the header of a batch it stored (no records, no CRC check).
  if (headerOnly) {
    if (available < RECORD_BATCH_OVERHEAD)
      throw new EdgelogError("CORRUPT_MESSAGE", `a v2 header needs ${RECORD_BATCH_OVERHEAD} bytes, got ${available}`);
    checkCrc = false;
  } else if (size > available) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `truncated batch: batchLength ${batchLength} needs ${size} bytes but only ${available} remain`,
    );
  }
  const crc = view.getUint32(BATCH_FIELD.crc);
  // checkCrc false is for bytes the caller has just encoded itself: the CRC is its own.
  const computed = checkCrc ? crc32c(bytes, at + BATCH_FIELD.attributes, at + size) : crc;
  if (crc !== computed) {
    throw new EdgelogError("CORRUPT_MESSAGE", `CRC-32C mismatch: stored 0x${hex32(crc)}, computed 0x${hex32(computed)}`);
  }
  const attributes = view.getInt16(BATCH_FIELD.attributes);
  const codec = attributes & ATTRIBUTE.compressionMask;
  if (codec >= CODEC_NAMES.length) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `unknown compression codec id ${codec} in attributes 0x${(attributes & 0xffff).toString(16)}`,
    );
  }
  const recordCount = view.getInt32(BATCH_FIELD.recordsCount);
  if (recordCount < 0) throw new EdgelogError("CORRUPT_MESSAGE", `recordsCount ${recordCount} is negative`);
  return {
    baseOffset: safeInt64(view, BATCH_FIELD.baseOffset, "baseOffset"),
    batchLength,
    size,
    partitionLeaderEpoch: view.getInt32(BATCH_FIELD.partitionLeaderEpoch),
    magic,
    crc,
    attributes,
    compression: CODEC_NAMES[codec],
    timestampType: attributes & ATTRIBUTE.logAppendTime ? "logAppend" : "create",
    isTransactional: (attributes & ATTRIBUTE.transactional) !== 0,
    isControl: (attributes & ATTRIBUTE.control) !== 0,
    lastOffsetDelta: view.getInt32(BATCH_FIELD.lastOffsetDelta),
    baseTimestamp: safeInt64(view, BATCH_FIELD.baseTimestamp, "baseTimestamp"),
    maxTimestamp: safeInt64(view, BATCH_FIELD.maxTimestamp, "maxTimestamp"),
    producerId: safeInt64(view, BATCH_FIELD.producerId, "producerId"),
    producerEpoch: view.getInt16(BATCH_FIELD.producerEpoch),
    baseSequence: view.getInt32(BATCH_FIELD.baseSequence),
    recordCount,
  };
}

/**
 * Writes baseOffset and partitionLeaderEpoch in place, as a broker does on append. Both lie
 * before the CRC-covered region, so the stored CRC stays valid.
 * Throws RangeError for arguments no broker would pass (they are the caller's bug, not the client's).
 *
 * @example
 * assignOffsets(batch, nextOffset, leaderEpoch);
 * nextOffset += readBatchHeader(batch).lastOffsetDelta + 1;
 */
export function assignOffsets(batch: Uint8Array, baseOffset: number, partitionLeaderEpoch: number): void {
  if (batch.length < RECORD_BATCH_OVERHEAD) throw new RangeError(`a ${batch.length}-byte buffer is not a record batch`);
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0)
    throw new RangeError(`baseOffset ${baseOffset} is not a non-negative safe integer`);
  if ((partitionLeaderEpoch | 0) !== partitionLeaderEpoch)
    throw new RangeError(`partitionLeaderEpoch ${partitionLeaderEpoch} is not an int32`);
  const view = new DataView(batch.buffer, batch.byteOffset, RECORD_BATCH_OVERHEAD);
  view.setBigInt64(BATCH_FIELD.baseOffset, BigInt(baseOffset));
  view.setInt32(BATCH_FIELD.partitionLeaderEpoch, partitionLeaderEpoch);
}

/** The header fields a producer chooses; the rest (magic, lengths, CRC) follow from the bytes. */
export interface BatchHeaderFields {
  baseOffset: number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Fills the first 61 bytes of `batch` (whose records are already in place after them), then
 * computes and stores the CRC-32C. The caller validated the field ranges.
 *
 * @example
 * const batch = new Uint8Array(RECORD_BATCH_OVERHEAD + records.length);
 * batch.set(records, RECORD_BATCH_OVERHEAD);
 * writeBatchHeader(batch, fields);
 */
export function writeBatchHeader(batch: Uint8Array, fields: BatchHeaderFields): void {
  const view = new DataView(batch.buffer, batch.byteOffset, RECORD_BATCH_OVERHEAD);
  view.setBigInt64(BATCH_FIELD.baseOffset, BigInt(fields.baseOffset));
  view.setInt32(BATCH_FIELD.batchLength, batch.length - LOG_OVERHEAD);
  view.setInt32(BATCH_FIELD.partitionLeaderEpoch, fields.partitionLeaderEpoch);
  view.setInt8(BATCH_FIELD.magic, MAGIC);
  view.setInt16(BATCH_FIELD.attributes, fields.attributes);
  view.setInt32(BATCH_FIELD.lastOffsetDelta, fields.lastOffsetDelta);
  view.setBigInt64(BATCH_FIELD.baseTimestamp, BigInt(fields.baseTimestamp));
  view.setBigInt64(BATCH_FIELD.maxTimestamp, BigInt(fields.maxTimestamp));
  view.setBigInt64(BATCH_FIELD.producerId, BigInt(fields.producerId));
  view.setInt16(BATCH_FIELD.producerEpoch, fields.producerEpoch);
  view.setInt32(BATCH_FIELD.baseSequence, fields.baseSequence);
  view.setInt32(BATCH_FIELD.recordsCount, fields.recordCount);
  view.setUint32(BATCH_FIELD.crc, crc32c(batch, BATCH_FIELD.attributes));
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, "0");
}
