/**
 * Regression: record timestamps are checked against the batch header, not trusted from it.
 *
 * Retention (by retention.ms) and ListOffsets by time read a batch's maxTimestamp without decoding
 * its records. readRecords used to take the header's word for it, so a producer could store a batch
 * whose maxTimestamp pinned it forever (far future) or got it deleted at once (0), and records
 * with negative timestamps were stored as if they were times. Now a create-time batch whose
 * maxTimestamp is not its newest record timestamp is CORRUPT_MESSAGE, and a negative record
 * timestamp is INVALID_TIMESTAMP, from every entry point that reads a whole batch.
 */
import { describe, expect, it } from "vitest";
import { crc32c } from "../../protocol/crc32c";
import type { ErrorCode } from "../../protocol/errors";
import { ATTRIBUTE, BATCH_FIELD, decodeRecords, encodeBatch, readBatchHeader, validateBatch } from "../../protocol/record-batch";
import type { Compression, RecordInput } from "../../protocol/record-batch";
import { expectError, utf8 } from "./support";

const T0 = 1_700_000_000_000;
const COMPRESSIONS: Compression[] = ["none", "gzip"];

/** Three records whose newest is in the middle: the last record is not the newest. */
const unordered: RecordInput[] = [
  { key: null, value: utf8("first"), timestamp: T0 },
  { key: utf8("k"), value: utf8("newest"), timestamp: T0 + 500 },
  { key: null, value: utf8("late"), timestamp: T0 + 20 },
];

/** A copy of `batch` with int64 header fields overwritten and the CRC-32C (attributes..end) recomputed. */
function rewritten(batch: Uint8Array, fields: { baseTimestamp?: number; maxTimestamp?: number; attributes?: number }): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  if (fields.baseTimestamp !== undefined) view.setBigInt64(BATCH_FIELD.baseTimestamp, BigInt(fields.baseTimestamp));
  if (fields.maxTimestamp !== undefined) view.setBigInt64(BATCH_FIELD.maxTimestamp, BigInt(fields.maxTimestamp));
  if (fields.attributes !== undefined) view.setInt16(BATCH_FIELD.attributes, fields.attributes);
  view.setUint32(BATCH_FIELD.crc, crc32c(copy, BATCH_FIELD.attributes, copy.length));
  return copy;
}

/** Both whole-batch readers refuse `batch` alike (with and without a pre-checked header). */
async function expectRefused(batch: Uint8Array, code: ErrorCode, message: RegExp): Promise<void> {
  // The header itself is sound: the CRC matches, so the fault is found in the records.
  const header = readBatchHeader(batch);
  await expectError(() => validateBatch(batch), code, message);
  await expectError(() => decodeRecords(batch), code, message);
  await expectError(() => validateBatch(batch, { checkedHeader: header }), code, message);
  await expectError(() => decodeRecords(batch, { checkedHeader: header }), code, message);
}

describe("regression: a batch whose header maxTimestamp is not its newest record timestamp was trusted", () => {
  for (const compression of COMPRESSIONS) {
    it(`a create-time batch whose maxTimestamp is later than every record (it would never expire) is CORRUPT_MESSAGE (${compression})`, async () => {
      const batch = await encodeBatch(unordered, { compression });
      await expectRefused(rewritten(batch, { maxTimestamp: 10_000_000_000_000 }), "CORRUPT_MESSAGE", /maxTimestamp/);
      await expectRefused(rewritten(batch, { maxTimestamp: T0 + 501 }), "CORRUPT_MESSAGE", /maxTimestamp/);
    });

    it(`a create-time batch whose maxTimestamp is older than its newest record (it would expire early) is CORRUPT_MESSAGE (${compression})`, async () => {
      const batch = await encodeBatch(unordered, { compression });
      await expectRefused(rewritten(batch, { maxTimestamp: 0 }), "CORRUPT_MESSAGE", /maxTimestamp/);
      // The first and the last record's timestamps are not the newest either.
      await expectRefused(rewritten(batch, { maxTimestamp: T0 }), "CORRUPT_MESSAGE", /maxTimestamp/);
      await expectRefused(rewritten(batch, { maxTimestamp: T0 + 20 }), "CORRUPT_MESSAGE", /maxTimestamp/);
      await expectRefused(rewritten(batch, { maxTimestamp: T0 + 499 }), "CORRUPT_MESSAGE", /maxTimestamp/);
    });

    it(`a batch whose maxTimestamp is its newest record's, even when that record is not the last, still validates and decodes (${compression})`, async () => {
      const batch = await encodeBatch(unordered, { compression });
      const header = await validateBatch(batch);
      expect(header.maxTimestamp).toBe(T0 + 500);
      expect((await decodeRecords(batch)).map((r) => r.timestamp)).toEqual([T0, T0 + 500, T0 + 20]);
      // Resealing it unchanged is still valid: the check is on the values, not on how they were written.
      expect((await validateBatch(rewritten(batch, { maxTimestamp: T0 + 500 }))).maxTimestamp).toBe(T0 + 500);
      // Timestamp 0 is a time like any other.
      const epoch = await encodeBatch([{ key: null, value: utf8("epoch"), timestamp: 0 }], { compression });
      expect((await decodeRecords(epoch))[0].timestamp).toBe(0);
    });
  }

  it("a log-append-time batch (the broker's timestamp in maxTimestamp) is not held to its records' create times", async () => {
    const batch = await encodeBatch(unordered);
    const appendTime = T0 + 60_000;
    const logAppend = rewritten(batch, { attributes: ATTRIBUTE.logAppendTime, maxTimestamp: appendTime });
    expect((await validateBatch(logAppend)).timestampType).toBe("logAppend");
    expect((await decodeRecords(logAppend)).map((r) => r.timestamp)).toEqual([appendTime, appendTime, appendTime]);
  });
});

describe("regression: a record with a negative timestamp was accepted", () => {
  it("encodeBatch refuses to build one (INVALID_TIMESTAMP)", async () => {
    await expectError(() => encodeBatch([{ key: null, value: utf8("x"), timestamp: -1 }]), "INVALID_TIMESTAMP");
  });

  for (const compression of COMPRESSIONS) {
    it(`a crafted batch whose records' timestamps are negative (a consistent header, a valid CRC) is INVALID_TIMESTAMP (${compression})`, async () => {
      const batch = await encodeBatch([{ key: null, value: utf8("x"), timestamp: T0 }], { compression });
      // timestampDelta is 0, so the record's timestamp is baseTimestamp: -1 (Kafka's "no timestamp") and below.
      for (const negative of [-1, -5, -T0]) {
        await expectRefused(rewritten(batch, { baseTimestamp: negative, maxTimestamp: negative }), "INVALID_TIMESTAMP", /negative/);
      }
    });

    it(`a crafted batch where only an earlier record is negative, with maxTimestamp the newest (non-negative) one, is INVALID_TIMESTAMP (${compression})`, async () => {
      const batch = await encodeBatch(
        [
          { key: null, value: utf8("a"), timestamp: T0 },
          { key: null, value: utf8("b"), timestamp: T0 + 10 },
        ],
        { compression },
      );
      // Deltas stay 0 and 10: baseTimestamp -3 makes the records -3 and 7; maxTimestamp 7 agrees.
      await expectRefused(rewritten(batch, { baseTimestamp: -3, maxTimestamp: 7 }), "INVALID_TIMESTAMP", /record 0: .*negative/);
    });
  }
});
