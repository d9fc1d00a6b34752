/**
 * Control batches: the transaction markers of KIP-98 (Kafka's EndTransactionMarker). When a
 * transaction ends, the coordinator writes one of these to every partition the transaction wrote:
 * COMMIT makes the producer's pending records visible to read_committed consumers, ABORT tells
 * them to skip the records (see isolation.ts). Consumers never see a control record itself.
 *
 * Wire grammar: an ordinary RecordBatch v2 (record-batch-header.ts) holding exactly one record,
 *   attributes       int16    0x30: isTransactional (bit 4) | isControl (bit 5); no compression,
 *                             create time
 *   lastOffsetDelta  int32    0
 *   baseTimestamp    int64    the marker's timestamp; maxTimestamp is the same
 *   producerId       int64    the producer whose transaction ends
 *   producerEpoch    int16    its epoch
 *   baseSequence     int32    -1: markers carry no sequence
 *   recordsCount     int32    1
 * and that record (records.ts) has timestampDelta 0, offsetDelta 0, no headers, and
 *   key    4 bytes   version int16 (0) | type int16 (0 ABORT, 1 COMMIT)      Kafka's ControlRecordType
 *   value  6 bytes   version int16 (0) | coordinatorEpoch int32               Kafka's EndTransactionMarker
 * e.g. a COMMIT key is 00 00 00 01, and coordinator epoch 5 gives the value 00 00 00 00 00 05.
 * Kafka reads later key and value versions as version 0 (the fields above come first), and so does
 * readControlRecord; a negative version is corruption.
 */

import { EdgelogError } from "./errors";
import { ATTRIBUTE, RECORD_BATCH_OVERHEAD, readBatchHeader, writeBatchHeader } from "./record-batch-header";
import type { BatchHeader } from "./record-batch-header";
import { readRecords } from "./records";
import { Writer } from "./varint";

/**
 * The transaction marker types edgelog writes (Kafka's ControlRecordType ids).
 *
 * @example
 * new DataView(key.buffer, key.byteOffset).getInt16(2) === CONTROL_TYPE.commit;
 */
export const CONTROL_TYPE = { abort: 0, commit: 1 } as const;
/** How a transaction ended: "abort" | "commit". */
export type ControlType = keyof typeof CONTROL_TYPE;

/** A transaction marker to encode. */
export interface ControlMarker {
  type: ControlType;
  producerId: number;
  producerEpoch: number;
  /** The transaction coordinator's epoch, which lets a broker fence a zombie coordinator. */
  coordinatorEpoch: number;
  /** Create time in ms since the epoch. */
  timestamp: number;
  /** Default 0: a broker assigns the real one on append. */
  baseOffset?: number;
  /** Default -1 (no leader epoch known), as for encodeBatch. */
  partitionLeaderEpoch?: number;
}

/** A decoded transaction marker, with the batch fields that say whose transaction it ends. */
export interface ControlRecord {
  type: ControlType;
  /** The marker's (value's) version: 0 today. */
  version: number;
  coordinatorEpoch: number;
  producerId: number;
  producerEpoch: number;
}

const INT32_MAX = 0x7fffffff;
const KEY_SIZE = 4;
const VALUE_SIZE = 6;
// One record: length varint (1 byte: the body is 16) + attributes, two zero deltas, the key and
// value with their 1-byte lengths, and a zero header count.
const RECORD_BODY_SIZE = 1 + 1 + 1 + (1 + KEY_SIZE) + (1 + VALUE_SIZE) + 1;
const BATCH_SIZE = RECORD_BATCH_OVERHEAD + 1 + RECORD_BODY_SIZE;

/**
 * Encodes a transaction marker as Kafka's coordinator writes it: a 78-byte uncompressed control
 * batch (grammar above). Throws INVALID_RECORD for a field out of range (producerId a
 * non-negative safe integer, producerEpoch 0..32767, coordinatorEpoch 0..2^31-1, an unknown
 * type), INVALID_TIMESTAMP for a timestamp that is not a non-negative safe integer.
 *
 * @example
 * const marker = encodeControlBatch({ type: "commit", producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, timestamp: Date.now() });
 * readBatchHeader(marker).isControl; // true
 */
export function encodeControlBatch(marker: ControlMarker): Uint8Array<ArrayBuffer> {
  if (marker === null || typeof marker !== "object") throw new EdgelogError("INVALID_RECORD", "a control marker must be an object");
  if (!Object.hasOwn(CONTROL_TYPE, marker.type)) {
    throw new EdgelogError("INVALID_RECORD", `control type "${String(marker.type)}" is unknown: use abort or commit`);
  }
  const producerId = checkInteger("producerId", marker.producerId, 0, Number.MAX_SAFE_INTEGER);
  const producerEpoch = checkInteger("producerEpoch", marker.producerEpoch, 0, 0x7fff);
  const coordinatorEpoch = checkInteger("coordinatorEpoch", marker.coordinatorEpoch, 0, INT32_MAX);
  const baseOffset = checkInteger("baseOffset", marker.baseOffset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const partitionLeaderEpoch = checkInteger("partitionLeaderEpoch", marker.partitionLeaderEpoch ?? -1, -1, INT32_MAX);
  const timestamp = marker.timestamp;
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new EdgelogError("INVALID_TIMESTAMP", `control marker timestamp ${timestamp} is not a non-negative safe integer`);
  }

  const w = new Writer(BATCH_SIZE);
  w.pos = RECORD_BATCH_OVERHEAD;
  w.varint(RECORD_BODY_SIZE);
  w.int8(0); // record attributes
  w.varlong(0); // timestampDelta
  w.varint(0); // offsetDelta
  w.varint(KEY_SIZE);
  w.int16(0); // key version
  w.int16(CONTROL_TYPE[marker.type]);
  w.varint(VALUE_SIZE);
  w.int16(0); // marker version
  w.int32(coordinatorEpoch);
  w.varint(0); // headers
  if (w.pos !== BATCH_SIZE) throw new Error(`edgelog bug: a control batch took ${w.pos} bytes, not ${BATCH_SIZE}`);

  const batch = w.bytes;
  writeBatchHeader(batch, {
    baseOffset,
    partitionLeaderEpoch,
    attributes: ATTRIBUTE.transactional | ATTRIBUTE.control,
    lastOffsetDelta: 0,
    baseTimestamp: timestamp,
    maxTimestamp: timestamp,
    producerId,
    producerEpoch,
    baseSequence: -1,
    recordCount: 1,
  });
  return batch;
}

/**
 * Reads the transaction marker of a stored control batch, checking the whole batch first (header
 * and CRC via readBatchHeader unless `header` is given, as splitBatches returns it; then the
 * record, as validateBatch would). Throws CORRUPT_MESSAGE for a batch that is not a transactional
 * control batch of one uncompressed record, a key or value that is null, short or of a negative
 * version, or a type other than ABORT (0) and COMMIT (1).
 *
 * @example
 * for (const { header, bytes } of splitBatches(fetched)) {
 *   if (header.isControl) console.log(readControlRecord(bytes, header).type); // "commit" | "abort"
 * }
 */
export function readControlRecord(batch: Uint8Array, header: BatchHeader = readBatchHeader(batch)): ControlRecord {
  if (header.size !== batch.length) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `batchLength ${header.batchLength} frames ${header.size} bytes but the batch is ${batch.length}`,
    );
  }
  if (!header.isControl) throw new EdgelogError("CORRUPT_MESSAGE", "not a control batch (attributes bit 5 is clear)");
  if (!header.isTransactional) throw new EdgelogError("CORRUPT_MESSAGE", "a transaction marker's batch must be transactional (bit 4)");
  if (header.compression !== "none") {
    throw new EdgelogError("CORRUPT_MESSAGE", `a control batch is never compressed, this one is ${header.compression}`);
  }
  if (header.recordCount !== 1 || header.lastOffsetDelta !== 0) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `a control batch holds one record, this one says ${header.recordCount} (lastOffsetDelta ${header.lastOffsetDelta})`,
    );
  }
  if (header.producerId < 0 || header.producerEpoch < 0) {
    throw new EdgelogError(
      "CORRUPT_MESSAGE",
      `a transaction marker needs a producer, not id ${header.producerId} epoch ${header.producerEpoch}`,
    );
  }
  const [record] = readRecords(batch, RECORD_BATCH_OVERHEAD, batch.length, header, { collect: true, dense: true });
  const key = fixedView(record.key, KEY_SIZE, "key");
  const value = fixedView(record.value, VALUE_SIZE, "value");
  const typeId = key.getInt16(2);
  const type = typeId === CONTROL_TYPE.abort ? "abort" : typeId === CONTROL_TYPE.commit ? "commit" : undefined;
  if (type === undefined) throw new EdgelogError("CORRUPT_MESSAGE", `control type ${typeId} is unknown (0 abort, 1 commit)`);
  return {
    type,
    version: value.getInt16(0),
    coordinatorEpoch: value.getInt32(2),
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
  };
}

/** A view of a control key or value of at least `size` bytes whose leading int16 version is >= 0. */
function fixedView(bytes: Uint8Array | null, size: number, what: string): DataView {
  if (bytes === null) throw new EdgelogError("CORRUPT_MESSAGE", `the control record's ${what} is null`);
  if (bytes.length < size) {
    throw new EdgelogError("CORRUPT_MESSAGE", `the control record's ${what} takes ${bytes.length} bytes, at least ${size} expected`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getInt16(0);
  if (version < 0) throw new EdgelogError("CORRUPT_MESSAGE", `the control record's ${what} version ${version} is negative`);
  return view;
}

function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new EdgelogError("INVALID_RECORD", `${field} ${value} must be an integer in [${min}, ${max}]`);
  }
  return value;
}
