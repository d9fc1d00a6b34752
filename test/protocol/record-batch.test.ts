import { describe, expect, it } from "vitest";
import * as protocol from "../../protocol";
import {
  COMPRESSION,
  RECORD_BATCH_OVERHEAD,
  assignOffsets,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  splitBatches,
  validateBatch,
} from "../../protocol/record-batch";
import type { RecordInput } from "../../protocol/record-batch";
import { concat, expectError, utf8, withField } from "./support";

const T0 = 1_700_000_000_000;

const sample: RecordInput[] = [
  { key: utf8("user-1"), value: utf8("first"), headers: [{ key: "trace", value: utf8("abc") }], timestamp: T0 },
  { key: null, value: utf8("no key"), timestamp: T0 + 5 },
  { key: utf8("user-2"), value: null, headers: [{ key: "nullable", value: null }], timestamp: T0 - 3 },
  { key: new Uint8Array(0), value: new Uint8Array(0) },
];

describe("encodeBatch + decodeRecords", () => {
  for (const compression of ["none", "gzip"] as const) {
    it(`round-trips keys, null keys, null values, empty bytes, headers and timestamps (${compression})`, async () => {
      const batch = await encodeBatch(sample, { compression, timestamp: T0 + 100, baseOffset: 40 });
      const records = await decodeRecords(batch);
      expect(records).toEqual([
        { offset: 40, timestamp: T0, key: utf8("user-1"), value: utf8("first"), headers: [{ key: "trace", value: utf8("abc") }] },
        { offset: 41, timestamp: T0 + 5, key: null, value: utf8("no key"), headers: [] },
        { offset: 42, timestamp: T0 - 3, key: utf8("user-2"), value: null, headers: [{ key: "nullable", value: null }] },
        { offset: 43, timestamp: T0 + 100, key: new Uint8Array(0), value: new Uint8Array(0), headers: [] },
      ]);
    });
  }

  it("writes the v2 header: magic 2, size = batchLength + 12, first-record baseTimestamp, max maxTimestamp, -1 producer defaults", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 + 100 });
    const header = readBatchHeader(batch);
    expect(header).toMatchObject({
      baseOffset: 0,
      size: batch.length,
      batchLength: batch.length - 12,
      partitionLeaderEpoch: -1,
      magic: 2,
      attributes: 0,
      compression: "none",
      timestampType: "create",
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 3,
      baseTimestamp: T0,
      maxTimestamp: T0 + 100,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: 4,
    });
    expect(RECORD_BATCH_OVERHEAD).toBe(61);
    expect(batch[16]).toBe(2);
  });

  it("records idempotent producer fields, the transactional bit and the gzip codec in the header", async () => {
    const batch = await encodeBatch(sample, {
      compression: "gzip",
      producerId: 2 ** 40,
      producerEpoch: 7,
      baseSequence: 1234,
      partitionLeaderEpoch: 9,
      isTransactional: true,
      timestamp: T0,
    });
    expect(readBatchHeader(batch)).toMatchObject({
      producerId: 2 ** 40,
      producerEpoch: 7,
      baseSequence: 1234,
      partitionLeaderEpoch: 9,
      isTransactional: true,
      compression: "gzip",
      attributes: COMPRESSION.gzip | 0x10,
    });
  });

  it("uses options.timestamp, else Date.now(), for records without a timestamp", async () => {
    const before = Date.now();
    const [record] = await decodeRecords(await encodeBatch([{ key: null, value: null }]));
    expect(record.timestamp).toBeGreaterThanOrEqual(before);
    expect(record.timestamp).toBeLessThanOrEqual(Date.now());
  });

  it("round-trips timestamp deltas beyond int32 in both directions (varlong)", async () => {
    const stamps = [T0, T0 + 400 * 24 * 3600 * 1000, 0, 2 ** 53 - 1, T0 - 2 ** 33];
    const batch = await encodeBatch(stamps.map((timestamp) => ({ key: null, value: null, timestamp })));
    expect((await decodeRecords(batch)).map((r) => r.timestamp)).toEqual(stamps);
    expect(readBatchHeader(batch).maxTimestamp).toBe(2 ** 53 - 1);
  });

  it("round-trips non-ASCII header keys, repeated keys in order, and a leading BOM", async () => {
    const headers = [
      { key: "é-clé", value: utf8("1") },
      { key: "🎉", value: utf8("2") },
      { key: "\uFEFFbom", value: null },
      { key: "é-clé", value: utf8("3") },
      { key: "", value: new Uint8Array(0) },
      { key: "x".repeat(300), value: utf8("long key") },
    ];
    const [record] = await decodeRecords(await encodeBatch([{ key: null, value: null, headers }], { timestamp: T0 }));
    expect(record.headers).toEqual(headers);
  });

  it("returns keys and values of an uncompressed batch as views into the batch, not copies", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    const [record] = await decodeRecords(batch);
    expect(record.key?.buffer).toBe(batch.buffer);
    expect(record.value?.buffer).toBe(batch.buffer);
  });

  it("validateBatch accepts what decodeRecords accepts and returns the header", async () => {
    for (const compression of ["none", "gzip"] as const) {
      const batch = await encodeBatch(sample, { compression, timestamp: T0 });
      expect(await validateBatch(batch)).toEqual(readBatchHeader(batch));
    }
  });

  it("decodes a log-append-time batch with maxTimestamp as every record's timestamp, as Kafka does", async () => {
    const batch = withField(await encodeBatch(sample, { timestamp: T0 + 100 }), 21, 0x08, 2);
    expect(readBatchHeader(batch).timestampType).toBe("logAppend");
    expect((await decodeRecords(batch)).map((r) => r.timestamp)).toEqual([T0 + 100, T0 + 100, T0 + 100, T0 + 100]);
  });

  it("encodes 1,000 records of 100 bytes into one batch of the expected size", async () => {
    const value = new Uint8Array(100).fill(42);
    const records = Array.from({ length: 1000 }, () => ({ key: null, value }));
    const batch = await encodeBatch(records, { timestamp: T0 });
    // record: length 2 + attributes 1 + timestampDelta 1 + offsetDelta 1-2 + key 1 + value 2+100 + headers 1
    // (offsetDelta and valueLength are zig-zag: 64 and 100 already need two bytes)
    const offsetDeltaBytes = 64 + 2 * (1000 - 64);
    expect(batch.length).toBe(61 + 1000 * 108 + offsetDeltaBytes);
    expect((await decodeRecords(batch)).length).toBe(1000);
  });
});

describe("encodeBatch input checks", () => {
  it("refuses an empty record list with INVALID_RECORD", async () => {
    await expectError(() => encodeBatch([]), "INVALID_RECORD", /at least one record/);
  });

  it("refuses snappy, lz4, zstd and unknown codecs with INVALID_RECORD", async () => {
    for (const compression of ["snappy", "lz4", "zstd"] as const) {
      await expectError(() => encodeBatch(sample, { compression }), "INVALID_RECORD", /not supported/);
    }
    await expectError(() => encodeBatch(sample, { compression: "brotli" as never }), "INVALID_RECORD", /unknown/);
  });

  it("refuses out-of-range producer fields, offsets and epochs with INVALID_RECORD", async () => {
    await expectError(() => encodeBatch(sample, { producerEpoch: 40_000 }), "INVALID_RECORD", /producerEpoch/);
    await expectError(() => encodeBatch(sample, { baseSequence: 2 ** 31 }), "INVALID_RECORD", /baseSequence/);
    await expectError(() => encodeBatch(sample, { producerId: 2 ** 53 }), "INVALID_RECORD", /producerId/);
    await expectError(() => encodeBatch(sample, { baseOffset: -5 }), "INVALID_RECORD", /baseOffset/);
    await expectError(() => encodeBatch(sample, { partitionLeaderEpoch: 1.5 }), "INVALID_RECORD", /partitionLeaderEpoch/);
  });

  it("refuses negative, fractional and unsafe timestamps with INVALID_TIMESTAMP", async () => {
    for (const timestamp of [-1, 1.5, 2 ** 53, Number.NaN]) {
      await expectError(() => encodeBatch([{ key: null, value: null, timestamp }]), "INVALID_TIMESTAMP");
    }
    await expectError(() => encodeBatch([{ key: null, value: null }], { timestamp: -7 }), "INVALID_TIMESTAMP");
  });

  it("refuses keys, values and header values that are not bytes, and header keys that are not strings, with INVALID_RECORD", async () => {
    await expectError(() => encodeBatch([{ key: "text" as never, value: null }]), "INVALID_RECORD", /key/);
    await expectError(() => encodeBatch([{ key: null, value: [1, 2] as never }]), "INVALID_RECORD", /value/);
    await expectError(
      () => encodeBatch([{ key: null, value: null, headers: [{ key: 5 as never, value: null }] }]),
      "INVALID_RECORD",
      /header key/,
    );
    await expectError(
      () => encodeBatch([{ key: null, value: null, headers: [{ key: "h", value: "v" as never }] }]),
      "INVALID_RECORD",
      /header/,
    );
    await expectError(() => encodeBatch([null as never]), "INVALID_RECORD");
  });
});

describe("assignOffsets", () => {
  it("rewrites baseOffset and partitionLeaderEpoch in place and the CRC stays valid", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0, compression: "gzip" });
    const crc = readBatchHeader(batch).crc;
    assignOffsets(batch, 2 ** 40, 12);
    const header = readBatchHeader(batch);
    expect(header).toMatchObject({ baseOffset: 2 ** 40, partitionLeaderEpoch: 12, crc });
    expect((await decodeRecords(batch)).map((r) => r.offset)).toEqual([2 ** 40, 2 ** 40 + 1, 2 ** 40 + 2, 2 ** 40 + 3]);
  });

  it("works on a batch that is a view into a larger buffer", async () => {
    const one = await encodeBatch(sample, { timestamp: T0 });
    const set = concat(one, one);
    const [, second] = splitBatches(set);
    assignOffsets(second.bytes, 77, 3);
    const [first, again] = splitBatches(set);
    expect(first.header.baseOffset).toBe(0);
    expect(again.header).toMatchObject({ baseOffset: 77, partitionLeaderEpoch: 3 });
  });

  it("refuses arguments no broker would pass with RangeError", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    expect(() => assignOffsets(batch, -1, 0)).toThrow(RangeError);
    expect(() => assignOffsets(batch, 2 ** 53, 0)).toThrow(RangeError);
    expect(() => assignOffsets(batch, 0, 2 ** 31)).toThrow(RangeError);
    expect(() => assignOffsets(new Uint8Array(20), 0, 0)).toThrow(RangeError);
  });
});

describe("splitBatches", () => {
  it("splits concatenated batches into checked headers and views of the same buffer", async () => {
    const a = await encodeBatch(sample, { timestamp: T0, baseOffset: 0 });
    const b = await encodeBatch(sample.slice(0, 1), { timestamp: T0, baseOffset: 4, compression: "gzip" });
    const c = await encodeBatch(sample.slice(1), { timestamp: T0, baseOffset: 5 });
    const set = concat(a, b, c);
    const batches = splitBatches(set);
    expect(batches.map((x) => x.header.baseOffset)).toEqual([0, 4, 5]);
    expect(batches.map((x) => x.bytes.length)).toEqual([a.length, b.length, c.length]);
    for (const x of batches) expect(x.bytes.buffer).toBe(set.buffer);
    expect(batches[1].bytes).toEqual(b);
    expect((await decodeRecords(batches[2].bytes)).map((r) => r.offset)).toEqual([5, 6, 7]);
  });

  it("returns no batches for an empty record set", () => {
    expect(splitBatches(new Uint8Array(0))).toEqual([]);
  });

  it("a trailing partial batch is CORRUPT_MESSAGE, or dropped with allowPartialTail (as Kafka fetch responses end)", async () => {
    const a = await encodeBatch(sample, { timestamp: T0 });
    const b = await encodeBatch(sample, { timestamp: T0, baseOffset: 4 });
    for (const cut of [1, 11, 12, 16, 17, 60, 61, b.length - 1]) {
      const set = concat(a, b.subarray(0, cut));
      await expectError(() => splitBatches(set), "CORRUPT_MESSAGE");
      const batches = splitBatches(set, { allowPartialTail: true });
      expect(batches.length, `cut ${cut}`).toBe(1);
      expect(batches[0].header.baseOffset).toBe(0);
    }
  });

  it("still rejects corruption before the tail even with allowPartialTail", async () => {
    const a = withField(await encodeBatch(sample, { timestamp: T0 }), 23, 9);
    a[30] ^= 1;
    await expectError(() => splitBatches(a, { allowPartialTail: true }), "CORRUPT_MESSAGE", /CRC/);
    const tiny = withField(await encodeBatch(sample, { timestamp: T0 }), 8, 10);
    await expectError(() => splitBatches(tiny, { allowPartialTail: true }), "CORRUPT_MESSAGE", /smaller than/);
  });
});

describe("protocol/index", () => {
  it("re-exports the public face: errors, record batch, murmur2, compression, crc32c", () => {
    for (const name of [
      "EdgelogError",
      "ERROR_CODES",
      "isErrorCode",
      "encodeBatch",
      "decodeRecords",
      "validateBatch",
      "readBatchHeader",
      "splitBatches",
      "assignOffsets",
      "RECORD_BATCH_OVERHEAD",
      "COMPRESSION",
      "murmur2",
      "toPositive",
      "partitionForKey",
      "gzip",
      "gunzip",
      "crc32c",
    ]) {
      expect(protocol, name).toHaveProperty(name);
    }
  });
});
