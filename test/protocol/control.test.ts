import { describe, expect, it } from "vitest";
import Decoder from "kafkajs/src/protocol/decoder.js";
import crc32C from "kafkajs/src/protocol/recordBatch/crc32C/index.js";
import decodeRecordBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import KafkajsRecord from "kafkajs/src/protocol/recordBatch/record/v0/index.js";
import v0 from "kafkajs/src/protocol/recordBatch/v0/index.js";
import { CONTROL_TYPE, encodeControlBatch, readControlRecord } from "../../protocol/control";
import type { ControlMarker } from "../../protocol/control";
import { BATCH_FIELD, decodeRecords, encodeBatch, readBatchHeader, splitBatches, validateBatch } from "../../protocol/record-batch";
import { asBuffer, toBuffer } from "./node";
import { batchOf, concat, expectError, fromHex, rawRecord, reseal, toHex, withField } from "./support";

const T0 = 1_700_000_000_000;
const commit: ControlMarker = {
  type: "commit",
  producerId: 4242,
  producerEpoch: 3,
  coordinatorEpoch: 5,
  timestamp: T0,
  baseOffset: 100,
  partitionLeaderEpoch: 2,
};

/** The commit marker above, written out field by field from Kafka's spec (the CRC is frozen). */
const COMMIT_HEX = [
  "0000000000000064", // baseOffset 100
  "00000042", // batchLength 66: 78 bytes in all
  "00000002", // partitionLeaderEpoch
  "02", // magic
  "CRC_", // crc: CRC-32C of the rest
  "0030", // attributes: transactional | control
  "00000000", // lastOffsetDelta
  "0000018bcfe56800", // baseTimestamp T0
  "0000018bcfe56800", // maxTimestamp T0
  "0000000000001092", // producerId 4242
  "0003", // producerEpoch
  "ffffffff", // baseSequence -1
  "00000001", // recordsCount
  "20", // record length 16
  "00", // record attributes
  "00", // timestampDelta 0
  "00", // offsetDelta 0
  "08", // key length 4
  "00000001", // key: version 0, type 1 (COMMIT)
  "0c", // value length 6
  "000000000005", // value: version 0, coordinatorEpoch 5
  "00", // no headers
].join("");
const COMMIT_CRC = "8630596e";

/** A sealed control batch around hand-made record bytes, with a producer (batchOf writes -1). */
function controlOf(key: Uint8Array | null, value: Uint8Array | null, offsetDelta = 0): Uint8Array {
  const batch = batchOf(rawRecord({ offsetDelta, key, value }), { recordCount: 1, attributes: 0x30 });
  return withField(withField(batch, BATCH_FIELD.producerId, 7, 8), BATCH_FIELD.producerEpoch, 0, 2);
}

describe("encodeControlBatch writes Kafka's EndTransactionMarker batch", () => {
  it("a commit marker is byte for byte the batch the spec describes (golden)", () => {
    const batch = encodeControlBatch(commit);
    expect(batch.length).toBe(78);
    expect(toHex(batch)).toBe(COMMIT_HEX.replace("CRC_", COMMIT_CRC));
    // The frozen CRC is kafkajs's CRC-32C of bytes 21..end, not only ours.
    expect(
      crc32C(asBuffer(batch.subarray(BATCH_FIELD.attributes)))
        .toString(16)
        .padStart(8, "0"),
    ).toBe(COMMIT_CRC);
  });

  it("an abort marker differs from a commit marker only in the type and the CRC", () => {
    const abort = encodeControlBatch({ ...commit, type: "abort" });
    const expected = encodeControlBatch(commit);
    expected[BATCH_FIELD.records + 8] = CONTROL_TYPE.abort; // low byte of the key's type
    expect(toHex(abort)).toBe(toHex(reseal(expected)));
    expect(toHex(abort.subarray(BATCH_FIELD.records + 5, BATCH_FIELD.records + 9))).toBe("00000000");
  });

  it("equals kafkajs's transactional batch of the same record with the control bit set (kafkajs has no control encoder)", async () => {
    const record = KafkajsRecord({
      key: toBuffer(fromHex("00000001")),
      value: toBuffer(fromHex("000000000005")),
    });
    const { buffer } = await v0.RecordBatch({
      firstOffset: 100,
      partitionLeaderEpoch: 2,
      firstTimestamp: T0,
      maxTimestamp: T0,
      lastOffsetDelta: 0,
      transactional: true,
      producerId: 4242,
      producerEpoch: 3,
      firstSequence: -1,
      records: [record],
    });
    const theirs = new Uint8Array(buffer);
    const view = new DataView(theirs.buffer, theirs.byteOffset);
    view.setInt16(BATCH_FIELD.attributes, view.getInt16(BATCH_FIELD.attributes) | 0x20);
    view.setUint32(BATCH_FIELD.crc, crc32C(asBuffer(theirs.subarray(BATCH_FIELD.attributes))));
    expect(toHex(encodeControlBatch(commit))).toBe(toHex(theirs));
  });

  it("kafkajs decodes it as a transactional control batch whose record carries the marker key and value", async () => {
    for (const type of ["abort", "commit"] as const) {
      const decoded = await decodeRecordBatch(new Decoder(asBuffer(encodeControlBatch({ ...commit, type }))));
      expect(decoded).toMatchObject({
        firstOffset: "100",
        partitionLeaderEpoch: 2,
        inTransaction: true,
        isControlBatch: true,
        lastOffsetDelta: 0,
        firstTimestamp: String(T0),
        maxTimestamp: String(T0),
        producerId: "4242",
        producerEpoch: 3,
        firstSequence: -1,
      });
      expect(decoded.records).toHaveLength(1);
      const [record] = decoded.records;
      expect(record).toMatchObject({ offset: "100", timestamp: String(T0), isControlRecord: true, headers: {} });
      expect(toHex(record.key!)).toBe(type === "commit" ? "00000001" : "00000000");
      expect(toHex(record.value!)).toBe("000000000005");
    }
  });

  it("defaults to baseOffset 0 and partitionLeaderEpoch -1, like encodeBatch", () => {
    const header = readBatchHeader(
      encodeControlBatch({ type: "abort", producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 0 }),
    );
    expect(header).toMatchObject({ baseOffset: 0, partitionLeaderEpoch: -1, isControl: true, isTransactional: true, compression: "none" });
  });

  it("refuses fields out of range with INVALID_RECORD, a bad timestamp with INVALID_TIMESTAMP", async () => {
    const bad: [Partial<Record<keyof ControlMarker, unknown>>, RegExp][] = [
      [{ type: "prepare" }, /control type "prepare" is unknown/],
      [{ type: undefined }, /control type "undefined" is unknown/],
      [{ producerId: -1 }, /producerId -1/],
      [{ producerId: 1.5 }, /producerId 1.5/],
      [{ producerId: Number.MAX_SAFE_INTEGER + 1 }, /producerId/],
      [{ producerId: "7" }, /producerId 7/],
      [{ producerEpoch: -1 }, /producerEpoch -1/],
      [{ producerEpoch: 32768 }, /producerEpoch 32768/],
      [{ coordinatorEpoch: -1 }, /coordinatorEpoch -1/],
      [{ coordinatorEpoch: 2 ** 31 }, /coordinatorEpoch/],
      [{ baseOffset: -1 }, /baseOffset -1/],
      [{ partitionLeaderEpoch: -2 }, /partitionLeaderEpoch -2/],
      [{ partitionLeaderEpoch: 2 ** 31 }, /partitionLeaderEpoch/],
    ];
    for (const [fields, message] of bad) {
      await expectError(() => encodeControlBatch({ ...commit, ...fields } as ControlMarker), "INVALID_RECORD", message);
    }
    await expectError(() => encodeControlBatch(null as unknown as ControlMarker), "INVALID_RECORD");
    for (const timestamp of [-1, 0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      await expectError(() => encodeControlBatch({ ...commit, timestamp }), "INVALID_TIMESTAMP");
    }
  });

  it("accepts the extremes: producerId 2^53-1, epoch 32767, coordinator epoch 2^31-1", () => {
    const marker = { ...commit, producerId: Number.MAX_SAFE_INTEGER, producerEpoch: 0x7fff, coordinatorEpoch: 0x7fffffff };
    expect(readControlRecord(encodeControlBatch(marker))).toEqual({
      type: "commit",
      version: 0,
      coordinatorEpoch: 0x7fffffff,
      producerId: Number.MAX_SAFE_INTEGER,
      producerEpoch: 0x7fff,
    });
  });
});

describe("validateBatch and decodeRecords accept control batches", () => {
  it("a control batch passes validateBatch and decodes to its one marker record", async () => {
    const batch = encodeControlBatch(commit);
    expect(await validateBatch(batch)).toMatchObject({ isControl: true, isTransactional: true, recordCount: 1 });
    const [record] = await decodeRecords(batch);
    expect({ ...record, key: toHex(record.key!), value: toHex(record.value!) }).toEqual({
      offset: 100,
      timestamp: T0,
      key: "00000001",
      value: "000000000005",
      headers: [],
    });
  });
});

describe("readControlRecord reads a stored marker and refuses anything else", () => {
  it("reads back what encodeControlBatch wrote, with or without a header splitBatches checked", async () => {
    const abort = encodeControlBatch({ ...commit, type: "abort", coordinatorEpoch: 9 });
    const data = await encodeBatch([{ key: null, value: null }], { timestamp: T0 });
    expect(readControlRecord(encodeControlBatch(commit))).toEqual({
      type: "commit",
      version: 0,
      coordinatorEpoch: 5,
      producerId: 4242,
      producerEpoch: 3,
    });
    const [, marker] = splitBatches(concat(data, abort));
    expect(readControlRecord(marker.bytes, marker.header)).toEqual({
      type: "abort",
      version: 0,
      coordinatorEpoch: 9,
      producerId: 4242,
      producerEpoch: 3,
    });
  });

  it("reads later key and value versions as version 0, as Kafka does, and reports the marker's version", () => {
    const batch = controlOf(fromHex("000100010000"), fromHex("0001000000070000"));
    expect(readControlRecord(batch)).toEqual({ type: "commit", version: 1, coordinatorEpoch: 7, producerId: 7, producerEpoch: 0 });
  });

  it("CORRUPT_MESSAGE for a batch that is not a transaction marker", async () => {
    const data = await encodeBatch([{ key: fromHex("00000001"), value: fromHex("000000000005") }], {
      timestamp: T0,
      producerId: 1,
      producerEpoch: 0,
      baseSequence: 0,
      isTransactional: true,
    });
    await expectError(() => readControlRecord(data), "CORRUPT_MESSAGE", /not a control batch/);
    const marker = encodeControlBatch(commit);
    const notTransactional = withField(marker, BATCH_FIELD.attributes, 0x20, 2);
    await expectError(() => readControlRecord(notTransactional), "CORRUPT_MESSAGE", /must be transactional/);
    const gzipped = withField(marker, BATCH_FIELD.attributes, 0x31, 2);
    await expectError(() => readControlRecord(gzipped), "CORRUPT_MESSAGE", /never compressed, this one is gzip/);
    const noProducer = withField(marker, BATCH_FIELD.producerId, -1, 8);
    await expectError(() => readControlRecord(noProducer), "CORRUPT_MESSAGE", /needs a producer/);
    const noEpoch = withField(marker, BATCH_FIELD.producerEpoch, -1, 2);
    await expectError(() => readControlRecord(noEpoch), "CORRUPT_MESSAGE", /needs a producer/);
  });

  it("CORRUPT_MESSAGE for a bad CRC, a truncated batch or bytes after it", async () => {
    const marker = encodeControlBatch(commit);
    const flipped = marker.slice();
    flipped[BATCH_FIELD.records + 12] ^= 1; // inside coordinatorEpoch, not resealed
    await expectError(() => readControlRecord(flipped), "CORRUPT_MESSAGE", /CRC-32C mismatch/);
    await expectError(() => readControlRecord(marker.subarray(0, 77)), "CORRUPT_MESSAGE", /truncated/);
    await expectError(() => readControlRecord(concat(marker, new Uint8Array(1))), "CORRUPT_MESSAGE", /frames 78 bytes but the batch is 79/);
  });

  it("CORRUPT_MESSAGE for a control batch with other than one record", async () => {
    const two = concat(
      rawRecord({ offsetDelta: 0, key: fromHex("00000001"), value: fromHex("000000000005") }),
      rawRecord({ offsetDelta: 1 }),
    );
    const batch = withField(batchOf(two, { recordCount: 2, attributes: 0x30 }), BATCH_FIELD.producerId, 7, 8);
    await expectError(() => readControlRecord(batch), "CORRUPT_MESSAGE", /holds one record, this one says 2/);
    const empty = withField(batchOf(new Uint8Array(0), { recordCount: 0, attributes: 0x30 }), BATCH_FIELD.producerId, 7, 8);
    await expectError(() => readControlRecord(empty), "CORRUPT_MESSAGE", /holds one record, this one says 0/);
  });

  it("CORRUPT_MESSAGE for a key or value that is null, short or of a negative version", async () => {
    const value = fromHex("000000000005");
    const key = fromHex("00000001");
    const cases: [Uint8Array, RegExp][] = [
      [controlOf(null, value), /key is null/],
      [controlOf(fromHex("000000"), value), /key takes 3 bytes, at least 4 expected/],
      [controlOf(fromHex("ffff0001"), value), /key version -1 is negative/],
      [controlOf(key, null), /value is null/],
      [controlOf(key, fromHex("0000000005")), /value takes 5 bytes, at least 6 expected/],
      [controlOf(key, fromHex("800000000005")), /value version -32768 is negative/],
    ];
    for (const [batch, message] of cases) await expectError(() => readControlRecord(batch), "CORRUPT_MESSAGE", message);
  });

  it("CORRUPT_MESSAGE for a control type other than ABORT (0) and COMMIT (1)", async () => {
    for (const type of ["0002", "0005", "ffff"]) {
      await expectError(
        () => readControlRecord(controlOf(fromHex(`0000${type}`), fromHex("000000000005"))),
        "CORRUPT_MESSAGE",
        /control type -?\d+ is unknown/,
      );
    }
  });

  it("CORRUPT_MESSAGE for a marker whose record is itself broken (the record is checked as validateBatch would)", async () => {
    const lying = controlOf(fromHex("00000001"), fromHex("000000000005"), 1);
    await expectError(() => readControlRecord(lying), "CORRUPT_MESSAGE", /record 0: offsetDelta 1 is out of order/);
  });
});
