/**
 * Record sets: what Kafka calls the `records` field of produce requests and fetch responses.
 *
 * Wire grammar:
 *   recordSet  = batch*            batches back to back, no count and no separator
 *   batch      = baseOffset int64 | batchLength int32 | batchLength more bytes
 *                (the full v2 layout is in record-batch-header.ts)
 * A fetch response may end with the first bytes of a batch that did not fit the fetch size; Kafka
 * clients drop that partial tail and fetch again from its offset.
 */

import { LOG_OVERHEAD, RECORD_BATCH_OVERHEAD, readBatchHeader } from "./record-batch-header";
import type { BatchHeader } from "./record-batch-header";

/**
 * Splits concatenated batches into header-checked batches (magic, lengths, CRC-32C) and views of
 * their bytes (subarrays, no copies). A trailing partial batch is CORRUPT_MESSAGE unless
 * `allowPartialTail`, in which case it is left out.
 *
 * @example
 * for (const { header, bytes } of splitBatches(fetched, { allowPartialTail: true })) {
 *   const records = await decodeRecords(bytes);
 * }
 */
export function splitBatches(
  bytes: Uint8Array,
  options: { allowPartialTail?: boolean } = {},
): { header: BatchHeader; bytes: Uint8Array }[] {
  const batches: { header: BatchHeader; bytes: Uint8Array }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const remaining = bytes.length - at;
    if (options.allowPartialTail && isPartialTail(bytes, at, remaining)) break;
    const header = readBatchHeader(bytes, at);
    batches.push({ header, bytes: bytes.subarray(at, at + header.size) });
    at += header.size;
  }
  return batches;
}

/** A tail too short to hold the batch its length field announces (or to hold a length at all). */
function isPartialTail(bytes: Uint8Array, at: number, remaining: number): boolean {
  if (remaining < LOG_OVERHEAD) return true;
  const batchLength = new DataView(bytes.buffer, bytes.byteOffset + at, LOG_OVERHEAD).getInt32(8);
  // A length smaller than any header is corruption, not truncation: let readBatchHeader say so.
  return batchLength >= RECORD_BATCH_OVERHEAD - LOG_OVERHEAD && remaining < batchLength + LOG_OVERHEAD;
}
