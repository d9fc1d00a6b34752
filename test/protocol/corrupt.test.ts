import { describe, expect, it } from "vitest";
import { gzip } from "../../protocol/compression";
import { decodeRecords, encodeBatch, readBatchHeader, splitBatches, validateBatch } from "../../protocol/record-batch";
import type { RecordInput } from "../../protocol/record-batch";
import type { ErrorCode } from "../../protocol/errors";
import { batchOf, concat, expectError, prng, randomBytes, rawRecord, utf8, withField } from "./support";

const T0 = 1_700_000_000_000;
const MiB = 1024 * 1024;
const sample: RecordInput[] = [
  { key: utf8("k1"), value: utf8("v1"), headers: [{ key: "h", value: utf8("x") }], timestamp: T0 },
  { key: null, value: utf8("second value"), timestamp: T0 + 1 },
  { key: utf8("k3"), value: null, timestamp: T0 + 2 },
];

/** Every entry point that reads a whole batch must refuse it the same way. */
async function expectRejected(batch: Uint8Array, code: ErrorCode, message?: RegExp): Promise<void> {
  await expectError(() => decodeRecords(batch), code, message);
  await expectError(() => validateBatch(batch), code, message);
}

const two = (a: Parameters<typeof rawRecord>[0], b: Parameters<typeof rawRecord>[0]): Uint8Array => concat(rawRecord(a), rawRecord(b));

describe("the CRC-32C guards everything from attributes to the end", () => {
  for (const compression of ["none", "gzip"] as const) {
    it(`a batch with one flipped byte anywhere after the CRC field is rejected with CORRUPT_MESSAGE (${compression})`, async () => {
      const batch = await encodeBatch(sample, { compression, timestamp: T0 });
      for (let at = 21; at < batch.length; at++) {
        for (const mask of [0x01, 0x80]) {
          const bad = batch.slice();
          bad[at] ^= mask;
          await expectError(() => readBatchHeader(bad), "CORRUPT_MESSAGE", /CRC-32C mismatch/);
          await expectError(() => decodeRecords(bad), "CORRUPT_MESSAGE", /CRC-32C mismatch/);
        }
      }
    });
  }

  it("a batch whose stored CRC field is altered is rejected with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (let at = 17; at < 21; at++) {
      const bad = batch.slice();
      bad[at] ^= 0x10;
      await expectRejected(bad, "CORRUPT_MESSAGE", /CRC-32C mismatch/);
    }
  });

  it("baseOffset and partitionLeaderEpoch lie outside the CRC, as in Kafka, so a broker can assign them", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    const moved = withField(withField(batch, 0, 500, 8), 12, 3);
    expect((await decodeRecords(moved))[0].offset).toBe(500);
  });
});

describe("framing", () => {
  it("a truncated batch (every shorter prefix) is rejected with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (let length = 0; length < batch.length; length++) {
      const cut = batch.subarray(0, length);
      await expectError(() => readBatchHeader(cut), "CORRUPT_MESSAGE", /truncated/);
      await expectRejected(cut, "CORRUPT_MESSAGE", /truncated/);
    }
  });

  it("a batchLength larger than the buffer is rejected with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (const batchLength of [batch.length - 11, batch.length + 1000, 2 ** 31 - 1]) {
      await expectRejected(withField(batch, 8, batchLength), "CORRUPT_MESSAGE", /truncated batch: batchLength/);
    }
  });

  it("a batchLength smaller than the header is rejected with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (const batchLength of [-1, 0, 10, 48]) {
      await expectRejected(withField(batch, 8, batchLength), "CORRUPT_MESSAGE", /smaller than the 49 bytes/);
    }
  });

  it("a batchLength that frames less than the whole batch is rejected with CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    await expectRejected(withField(batch, 8, batch.length - 13), "CORRUPT_MESSAGE");
    await expectRejected(concat(batch, new Uint8Array([0])), "CORRUPT_MESSAGE", /frames/);
  });

  it("magic 0 and 1 (legacy message sets) and unknown magics are UNSUPPORTED_FOR_MESSAGE_FORMAT", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (const magic of [0, 1, 3, -1]) {
      const bad = withField(batch, 16, magic, 1);
      await expectError(() => readBatchHeader(bad), "UNSUPPORTED_FOR_MESSAGE_FORMAT", new RegExp(`magic ${magic}`));
      await expectRejected(bad, "UNSUPPORTED_FOR_MESSAGE_FORMAT");
      await expectError(() => splitBatches(bad), "UNSUPPORTED_FOR_MESSAGE_FORMAT");
    }
    // A real v1 message is shorter than a v2 header: still a format error, not corruption.
    const v1 = new Uint8Array(34);
    new DataView(v1.buffer).setInt32(8, 22);
    v1[16] = 1;
    await expectError(() => readBatchHeader(v1), "UNSUPPORTED_FOR_MESSAGE_FORMAT");
  });

  it("unknown compression codec ids 5-7 are CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (const codec of [5, 6, 7]) await expectRejected(withField(batch, 21, codec, 2), "CORRUPT_MESSAGE", /codec id/);
  });

  it("int64 fields outside the safe-integer range are CORRUPT_MESSAGE", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    await expectRejected(withField(batch, 0, 2 ** 53, 8), "CORRUPT_MESSAGE", /baseOffset/);
    await expectRejected(withField(batch, 27, -(2 ** 53), 8), "CORRUPT_MESSAGE", /baseTimestamp/);
    await expectRejected(withField(batch, 35, 2 ** 53, 8), "CORRUPT_MESSAGE", /maxTimestamp/);
    await expectRejected(withField(batch, 43, 2 ** 53, 8), "CORRUPT_MESSAGE", /producerId/);
  });
});

describe("records must agree with the header", () => {
  const ok = (offsetDelta: number) => ({ offsetDelta, key: utf8("k"), value: utf8("value") });

  it("hand-built records that tell the truth decode (the workbench itself is sound)", async () => {
    const records = await decodeRecords(batchOf(two(ok(0), ok(1)), { recordCount: 2 }));
    expect(records.map((r) => r.offset)).toEqual([0, 1]);
  });

  it("a recordsCount larger than the records present is CORRUPT_MESSAGE", async () => {
    await expectRejected(
      batchOf(two(ok(0), ok(1)), { recordCount: 3 }),
      "CORRUPT_MESSAGE",
      /recordsCount is 3 but the records end after 2/,
    );
    await expectRejected(batchOf(two(ok(0), ok(1)), { recordCount: 2 ** 31 - 1 }), "CORRUPT_MESSAGE", /cannot fit/);
  });

  it("a recordsCount smaller than the records present is CORRUPT_MESSAGE", async () => {
    await expectRejected(batchOf(two(ok(0), ok(1)), { recordCount: 1 }), "CORRUPT_MESSAGE", /follow the last record/);
  });

  it("a recordsCount of 0 or below is CORRUPT_MESSAGE", async () => {
    await expectRejected(batchOf(new Uint8Array(0), { recordCount: 0 }), "CORRUPT_MESSAGE", /no records/);
    await expectRejected(batchOf(two(ok(0), ok(1)), { recordCount: -1, lastOffsetDelta: 1 }), "CORRUPT_MESSAGE", /negative/);
  });

  it("a lastOffsetDelta other than recordsCount - 1 is CORRUPT_MESSAGE from a producer (dense); compaction's larger one is valid in the log", async () => {
    const sparse = batchOf(two(ok(0), ok(1)), { recordCount: 2, lastOffsetDelta: 2 });
    await expectError(() => decodeRecords(sparse, { dense: true }), "CORRUPT_MESSAGE", /lastOffsetDelta 2/);
    await expectError(() => validateBatch(sparse, { dense: true }), "CORRUPT_MESSAGE", /lastOffsetDelta 2/);
    expect((await decodeRecords(sparse)).map((r) => r.offset)).toEqual([0, 1]);
    // Fewer offsets than records is never valid.
    await expectRejected(batchOf(two(ok(0), ok(1)), { recordCount: 2, lastOffsetDelta: 0 }), "CORRUPT_MESSAGE", /lastOffsetDelta 0/);
  });

  it("offsetDeltas out of order, skipping or repeating are CORRUPT_MESSAGE", async () => {
    for (const [a, b] of [
      [0, 2],
      [1, 0],
      [0, 0],
      [1, 2],
    ]) {
      await expectRejected(batchOf(two(ok(a), ok(b)), { recordCount: 2 }), "CORRUPT_MESSAGE", /offsetDelta \d+ is out of order/);
    }
  });
});

describe("every length stays inside its record", () => {
  const record = (fields: Partial<Parameters<typeof rawRecord>[0]>) =>
    rawRecord({ offsetDelta: 0, key: utf8("key"), value: utf8("value"), ...fields });
  const size = rawRecord({ offsetDelta: 0, key: utf8("key"), value: utf8("value") }).length - 1; // body length

  it("a record length that is too long is CORRUPT_MESSAGE (last record and inner record)", async () => {
    await expectRejected(
      batchOf(record({ length: size + 1 }), { recordCount: 1 }),
      "CORRUPT_MESSAGE",
      /record 0: length \d+ runs 1 byte past/,
    );
    const inner = concat(record({ length: size + 1 }), rawRecord({ offsetDelta: 1, key: null, value: null }));
    await expectRejected(batchOf(inner, { recordCount: 2 }), "CORRUPT_MESSAGE", /record 0/);
  });

  it("a record length that is too short is CORRUPT_MESSAGE", async () => {
    await expectRejected(batchOf(record({ length: size - 1 }), { recordCount: 1 }), "CORRUPT_MESSAGE", /record 0/);
    const inner = concat(record({ length: size - 1 }), rawRecord({ offsetDelta: 1, key: null, value: null }));
    await expectRejected(batchOf(inner, { recordCount: 2 }), "CORRUPT_MESSAGE", /record 0/);
  });

  it("a negative or impossibly small record length is CORRUPT_MESSAGE", async () => {
    for (const length of [-1, 0, 5]) await expectRejected(batchOf(record({ length }), { recordCount: 1 }), "CORRUPT_MESSAGE", /record 0/);
  });

  it("bytes left inside a record after its fields are CORRUPT_MESSAGE", async () => {
    await expectRejected(batchOf(record({ trailing: [0] }), { recordCount: 1 }), "CORRUPT_MESSAGE", /longer than the record's fields/);
  });

  it("key, value and header lengths that run past the record, or are below -1, are CORRUPT_MESSAGE", async () => {
    const cases = [
      record({ key: 40 }),
      record({ value: 40 }),
      record({ key: -2 }),
      record({ value: -7 }),
      record({ headers: [{ key: 30, value: null }] }),
      record({ headers: [{ key: -1, value: null }] }),
      record({ headers: [{ key: utf8("h"), value: null }], headerCount: 2 }),
      record({ headerCount: -1 }),
    ];
    for (const bytes of cases) await expectRejected(batchOf(bytes, { recordCount: 1 }), "CORRUPT_MESSAGE", /record 0/);
  });

  it("a header key that is not valid UTF-8 is CORRUPT_MESSAGE", async () => {
    for (const key of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x61, 0x80, 0x62]]) {
      const bytes = record({ headers: [{ key: new Uint8Array(key), value: null }] });
      await expectRejected(batchOf(bytes, { recordCount: 1 }), "CORRUPT_MESSAGE", /UTF-8/);
    }
  });

  it("a timestamp delta that leaves the safe-integer range is CORRUPT_MESSAGE", async () => {
    const bytes = record({ timestampDelta: 2 ** 53 - 1 });
    await expectRejected(batchOf(bytes, { recordCount: 1, baseTimestamp: T0 }), "CORRUPT_MESSAGE", /timestamp/);
  });
});

describe("compressed batches", () => {
  it("garbage where the gzip records should be is CORRUPT_MESSAGE", async () => {
    await expectRejected(batchOf(randomBytes(prng(8), 200), { recordCount: 1, attributes: 1 }), "CORRUPT_MESSAGE", /gzip/);
    await expectRejected(batchOf(new Uint8Array(0), { recordCount: 1, attributes: 1 }), "CORRUPT_MESSAGE", /gzip/);
  });

  it("a gzip bomb over maxUncompressedBytes is CORRUPT_MESSAGE, and decodes under a large enough limit", async () => {
    const batch = await encodeBatch([{ key: null, value: new Uint8Array(4 * MiB) }], { compression: "gzip", timestamp: T0 });
    expect(batch.length).toBeLessThan(64 * 1024);
    await expectError(() => decodeRecords(batch, { maxUncompressedBytes: MiB }), "CORRUPT_MESSAGE", /limit of 1048576/);
    await expectError(() => validateBatch(batch, { maxUncompressedBytes: MiB }), "CORRUPT_MESSAGE", /limit of 1048576/);
    expect((await decodeRecords(batch))[0].value?.length).toBe(4 * MiB);
  });

  it("decompressed records that disagree with recordsCount or leave trailing bytes are CORRUPT_MESSAGE", async () => {
    const records = concat(
      rawRecord({ offsetDelta: 0, key: null, value: utf8("a") }),
      rawRecord({ offsetDelta: 1, key: null, value: null }),
    );
    const gz = { attributes: 1 };
    expect((await decodeRecords(batchOf(await gzip(records), { recordCount: 2, ...gz }))).length).toBe(2);
    await expectRejected(batchOf(await gzip(records), { recordCount: 3, ...gz }), "CORRUPT_MESSAGE", /recordsCount/);
    await expectRejected(batchOf(await gzip(records), { recordCount: 1, ...gz }), "CORRUPT_MESSAGE", /recordsCount/);
    await expectRejected(
      batchOf(await gzip(concat(records, new Uint8Array([0]))), { recordCount: 2, ...gz }),
      "CORRUPT_MESSAGE",
      /follow the last record/,
    );
    await expectRejected(batchOf(await gzip(new Uint8Array(0)), { recordCount: 1, ...gz }), "CORRUPT_MESSAGE");
  });

  it("snappy, lz4 and zstd batches are UNSUPPORTED_FOR_MESSAGE_FORMAT, with the codec named", async () => {
    const batch = await encodeBatch(sample, { timestamp: T0 });
    for (const [id, name] of [
      [2, "snappy"],
      [3, "lz4"],
      [4, "zstd"],
    ] as const) {
      const other = withField(batch, 21, id, 2);
      expect(readBatchHeader(other).compression).toBe(name);
      await expectRejected(other, "UNSUPPORTED_FOR_MESSAGE_FORMAT", new RegExp(`${name} is not supported`));
    }
  });
});
