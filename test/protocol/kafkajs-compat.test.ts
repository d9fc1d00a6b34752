import { describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, readBatchHeader } from "../../protocol/record-batch";
import { kafkajsDecode, kafkajsEncode } from "./kafkajs";
import type { TestBatchFields, TestRecord } from "./kafkajs";
import { toHex, utf8 } from "./support";

const T0 = 1_700_000_000_000;

/** Keys, null keys, null values, empty bytes, headers (repeated keys adjacent), deltas of both signs. */
const records: TestRecord[] = [
  {
    key: utf8("user-1"),
    value: utf8('{"n":1}'),
    headers: [
      { key: "trace-id", value: utf8("t-1") },
      { key: "tag", value: utf8("a") },
      { key: "tag", value: utf8("b") },
    ],
    timestamp: T0,
  },
  { key: null, value: utf8("no key"), headers: [], timestamp: T0 + 17 },
  { key: utf8("user-2"), value: null, headers: [{ key: "clé-é", value: new Uint8Array([0, 255, 1]) }], timestamp: T0 - 5 },
  {
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    headers: [{ key: "empty", value: new Uint8Array(0) }],
    timestamp: T0 + 3_000_000_000,
  },
  { key: utf8("k".repeat(200)), value: new Uint8Array(1000).map((_, i) => i % 251), headers: [], timestamp: T0 + 1 },
];

const fields: TestBatchFields = {
  baseOffset: 1234,
  partitionLeaderEpoch: 6,
  producerId: 987_654_321_012,
  producerEpoch: 3,
  baseSequence: 41,
  compression: "none",
  isTransactional: false,
};

const ours = (f: TestBatchFields) =>
  encodeBatch(
    records.map(({ key, value, headers, timestamp }) => ({ key, value, headers, timestamp })),
    { ...f },
  );

describe("byte compatibility with kafkajs 2.2.4", () => {
  for (const compression of ["none", "gzip"] as const) {
    for (const isTransactional of [false, true]) {
      const f = { ...fields, compression, isTransactional };
      const label = `${compression}${isTransactional ? ", transactional" : ""}`;

      it(`edgelog decodes kafkajs's batch with every field intact (${label})`, async () => {
        const batch = await kafkajsEncode(records, f);
        const header = readBatchHeader(batch);
        expect(header).toMatchObject({
          baseOffset: 1234,
          size: batch.length,
          partitionLeaderEpoch: 6,
          compression,
          isTransactional,
          lastOffsetDelta: records.length - 1,
          baseTimestamp: T0,
          maxTimestamp: T0 + 3_000_000_000,
          producerId: 987_654_321_012,
          producerEpoch: 3,
          baseSequence: 41,
          recordCount: records.length,
        });
        expect(await decodeRecords(batch)).toEqual(
          records.map((r, i) => ({ offset: 1234 + i, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })),
        );
      });

      it(`kafkajs decodes edgelog's batch with every field intact (${label})`, async () => {
        const decoded = await kafkajsDecode(await ours(f));
        expect(decoded).toEqual({
          baseOffset: 1234,
          partitionLeaderEpoch: 6,
          producerId: 987_654_321_012,
          producerEpoch: 3,
          baseSequence: 41,
          isTransactional,
          baseTimestamp: T0,
          maxTimestamp: T0 + 3_000_000_000,
          lastOffsetDelta: records.length - 1,
          records: records.map((r, i) => ({ offset: 1234 + i, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })),
        });
      });
    }
  }

  it("for the same records and fields, edgelog's uncompressed batch is byte-identical to kafkajs's", async () => {
    for (const isTransactional of [false, true]) {
      const f = { ...fields, isTransactional };
      expect(toHex(await ours(f))).toBe(toHex(await kafkajsEncode(records, f)));
    }
  });

  it("kafkajs reads the null header values edgelog writes (which kafkajs itself cannot encode)", async () => {
    const batch = await encodeBatch([{ key: null, value: null, headers: [{ key: "gone", value: null }] }], { timestamp: T0 });
    expect((await kafkajsDecode(batch)).records[0].headers).toEqual([{ key: "gone", value: null }]);
  });
});
