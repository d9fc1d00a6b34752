/**
 * The public face of edgelog's protocol module: the Kafka wire pieces shared by the Worker and the
 * clients (browser and Node 20). Web APIs only: no Node built-ins, so it bundles anywhere.
 *
 *   errors        EdgelogError and the table of Kafka error codes
 *   record-batch  RecordBatch v2 encode / check / split / decode, offset assignment
 *   murmur2       Kafka's default partitioner hash
 *   compression   gzip / bounded gunzip over CompressionStream
 *   crc32c        the batch checksum
 *   control       transaction markers (control batches);  isolation: the read_committed filter
 *   compaction    a stored batch rewritten with the records compaction keeps
 *
 * @example
 * import { encodeBatch, decodeRecords, partitionForKey } from "./protocol";
 */

export { ERROR_CODES, EdgelogError, isErrorCode } from "./errors";
export type { ErrorBody, ErrorCode } from "./errors";
export {
  ATTRIBUTE,
  BATCH_FIELD,
  COMPRESSION,
  DEFAULT_MAX_UNCOMPRESSED_BYTES,
  LOG_OVERHEAD,
  MAGIC,
  RECORD_BATCH_OVERHEAD,
  assignOffsets,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  splitBatches,
  validateBatch,
} from "./record-batch";
export type { BatchHeader, BatchOptions, Compression, DecodedRecord, ReadOptions, RecordHeader, RecordInput } from "./record-batch";
export { murmur2, partitionForKey, toPositive } from "./murmur2";
export { gunzip, gzip } from "./compression";
export { crc32c } from "./crc32c";
export { fromBase64, toBase64 } from "./base64";
export { jsonRecordsFrom, toJsonRecord, JSON_CONTENT_TYPE } from "./json-record";
export type { JsonRecord } from "./json-record";
export { CONTROL_TYPE, encodeControlBatch, readControlRecord } from "./control";
export type { ControlMarker, ControlRecord, ControlType } from "./control";
export { ISOLATION_LEVELS, committedBatches, parseIsolation } from "./isolation";
export type { AbortedTransaction, FetchedBatch, IsolationLevel } from "./isolation";
export { retainRecords } from "./compaction";
