/**
 * Compaction's batch rewrite: the records of a stored batch that compaction keeps, as a batch
 * with the same offsets (Kafka's MemoryRecords.filterTo for magic 2).
 *
 * A retained batch keeps the original's header fields except these:
 *   batchLength    the smaller size
 *   crc            recomputed over the new bytes
 *   maxTimestamp   the newest kept record's (create time; a log-append-time batch keeps its own)
 *   recordsCount   the records kept
 * baseOffset, lastOffsetDelta, baseTimestamp, the producer fields and the attributes are the
 * original's, so offsets never change (a kept record's offsetDelta is unchanged, which leaves gaps
 * between deltas), and a producer's last sequence (baseSequence + lastOffsetDelta) is still
 * read from the batch. The kept records are copied byte for byte; a gzip batch is recompressed.
 */
import { gzip } from "./compression";
import { ATTRIBUTE, RECORD_BATCH_OVERHEAD, writeBatchHeader } from "./record-batch-header";
import { readBatchRecords } from "./record-batch";
import type { DecodedRecord } from "./records";

/**
 * The batch with only the records `keep` accepts: `batch` itself when it keeps all of them,
 * null when it keeps none, otherwise a new batch (see the file comment). A control batch (a
 * transaction marker) is never rewritten: it is returned as is. `maxUncompressedBytes` guards gzip.
 *
 * @example
 * const kept = await retainRecords(stored, (r) => latest.get(keyOf(r)) === r.offset);
 */
export async function retainRecords(
  batch: Uint8Array,
  keep: (record: DecodedRecord) => boolean,
  maxUncompressedBytes?: number,
): Promise<Uint8Array | null> {
  const spans: number[] = [];
  const [header, records, raw] = await readBatchRecords(batch, { collect: true, dense: false, spans }, { maxUncompressedBytes });
  if (header.isControl) return batch;
  const kept: number[] = [];
  for (let i = 0; i < records.length; i++) if (keep(records[i])) kept.push(i);
  if (kept.length === records.length) return batch;
  if (kept.length === 0) return null;

  let size = 0;
  let newest = -1;
  for (const i of kept) {
    size += spans[2 * i + 1] - spans[2 * i];
    if (records[i].timestamp > newest) newest = records[i].timestamp;
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const i of kept) {
    body.set(raw.subarray(spans[2 * i], spans[2 * i + 1]), at);
    at += spans[2 * i + 1] - spans[2 * i];
  }
  const payload = header.compression === "gzip" ? await gzip(body) : body;
  const out = new Uint8Array(RECORD_BATCH_OVERHEAD + payload.length);
  out.set(payload, RECORD_BATCH_OVERHEAD);
  writeBatchHeader(out, {
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    attributes: header.attributes,
    lastOffsetDelta: header.lastOffsetDelta,
    baseTimestamp: header.baseTimestamp,
    maxTimestamp: header.attributes & ATTRIBUTE.logAppendTime ? header.maxTimestamp : newest,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    recordCount: kept.length,
  });
  return out;
}
