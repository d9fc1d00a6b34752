/**
 * Golden bytes: frozen RecordBatch v2 batches made by kafkajs 2.2.4 and by edgelog, in
 * test/fixtures/record-batches.json. A changed byte in edgelog's encoder, or a decoder that stops
 * reading what Kafka clients write, fails here.
 *
 * The inputs below are the source of truth; the fixture repeats them next to the bytes so it reads
 * on its own. To change the wire format on purpose, regenerate and review the diff:
 *   EDGELOG_WRITE_FIXTURES=1 npx vitest run --project node test/protocol/golden.test.ts
 * gzip bytes are frozen too, but only decoded: compressors may legitimately emit other bytes.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, readBatchHeader } from "../../protocol/record-batch";
import { kafkajsDecode, kafkajsEncode } from "./kafkajs";
import type { TestBatchFields, TestRecord } from "./kafkajs";
import { env, nodeFs, pathFromHere } from "./node";
import { fromHex, toHex, utf8 } from "./support";

const FIXTURE = pathFromHere("../fixtures/record-batches.json");
const T0 = 1_700_000_000_000;

interface Spec {
  name: string;
  madeBy: "kafkajs 2.2.4" | "edgelog";
  fields: TestBatchFields;
  records: TestRecord[];
}

const idempotent: TestBatchFields = {
  baseOffset: 0,
  partitionLeaderEpoch: 0,
  producerId: 4242,
  producerEpoch: 3,
  baseSequence: 17,
  compression: "none",
  isTransactional: false,
};

const mixed: TestRecord[] = [
  {
    key: utf8("order-1"),
    value: utf8('{"total":12.5}'),
    headers: [
      { key: "trace-id", value: utf8("abc123") },
      { key: "tag", value: utf8("x") },
      { key: "tag", value: utf8("y") },
    ],
    timestamp: T0,
  },
  { key: null, value: utf8("keyless"), headers: [], timestamp: T0 + 250 },
  { key: utf8("order-2"), value: null, headers: [{ key: "deleted-by", value: utf8("gc") }], timestamp: T0 - 40 },
  { key: new Uint8Array(0), value: new Uint8Array([0, 1, 2, 253, 254, 255]), headers: [], timestamp: T0 + 1 },
];

const edgeCases: TestRecord[] = [
  {
    key: utf8("k"),
    value: utf8("v"),
    headers: [
      { key: "null-value", value: null },
      { key: "clé-日本-🎉", value: utf8("unicode key") },
    ],
    timestamp: T0,
  },
  { key: null, value: null, headers: [], timestamp: T0 + 90 * 24 * 3600 * 1000 },
  {
    key: utf8("old"),
    value: utf8("negative delta beyond int32"),
    headers: [{ key: "", value: new Uint8Array(0) }],
    timestamp: T0 - 5_000_000_000,
  },
  { key: utf8("x".repeat(70)), value: new Uint8Array(130).fill(0x5a), headers: [], timestamp: T0 + 2 },
];

const SPECS: Spec[] = [
  { name: "kafkajs-uncompressed-idempotent", madeBy: "kafkajs 2.2.4", fields: { ...idempotent, baseOffset: 100 }, records: mixed },
  {
    name: "kafkajs-uncompressed-transactional-single",
    madeBy: "kafkajs 2.2.4",
    fields: { ...idempotent, isTransactional: true, partitionLeaderEpoch: 2 },
    records: [mixed[0]],
  },
  { name: "kafkajs-gzip-idempotent", madeBy: "kafkajs 2.2.4", fields: { ...idempotent, compression: "gzip" }, records: mixed },
  { name: "edgelog-uncompressed-idempotent", madeBy: "edgelog", fields: { ...idempotent, baseOffset: 100 }, records: mixed },
  {
    name: "edgelog-uncompressed-edge-cases",
    madeBy: "edgelog",
    fields: {
      baseOffset: 0,
      partitionLeaderEpoch: -1,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      compression: "none",
      isTransactional: false,
    },
    records: edgeCases,
  },
  {
    name: "edgelog-gzip-edge-cases",
    madeBy: "edgelog",
    fields: { ...idempotent, compression: "gzip", producerId: 2 ** 45 },
    records: edgeCases,
  },
];

async function make(spec: Spec): Promise<Uint8Array> {
  if (spec.madeBy === "edgelog") return encodeBatch(spec.records, { ...spec.fields });
  return kafkajsEncode(spec.records, spec.fields);
}

// --- JSON form of the fixture -------------------------------------------------------------------

interface JsonRecord {
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
  timestamp: number;
}
interface JsonBatch {
  name: string;
  madeBy: string;
  fields: TestBatchFields;
  records: JsonRecord[];
  hex: string;
}
interface Fixture {
  about: string;
  batches: JsonBatch[];
}

const hexOrNull = (bytes: Uint8Array | null): string | null => (bytes === null ? null : toHex(bytes));
const toJsonRecords = (records: TestRecord[]): JsonRecord[] =>
  records.map((r) => ({
    key: hexOrNull(r.key),
    value: hexOrNull(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: hexOrNull(h.value) })),
    timestamp: r.timestamp,
  }));

async function writeFixture(): Promise<void> {
  const fixture: Fixture = {
    about:
      "Frozen Kafka RecordBatch v2 bytes (hex) with the inputs that made them; keys and values are hex. " +
      "Checked by test/protocol/golden.test.ts; regenerate only for a deliberate wire change: " +
      "EDGELOG_WRITE_FIXTURES=1 npx vitest run --project node test/protocol/golden.test.ts",
    batches: [],
  };
  for (const spec of SPECS) {
    fixture.batches.push({
      name: spec.name,
      madeBy: spec.madeBy,
      fields: spec.fields,
      records: toJsonRecords(spec.records),
      hex: toHex(await make(spec)),
    });
  }
  (await nodeFs()).writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
}

let frozen: Map<string, JsonBatch>;

beforeAll(async () => {
  if (env("EDGELOG_WRITE_FIXTURES")) await writeFixture();
  const fixture = JSON.parse((await nodeFs()).readFileSync(FIXTURE, "utf8")) as Fixture;
  frozen = new Map(fixture.batches.map((b) => [b.name, b]));
});

const frozenBytes = (spec: Spec): Uint8Array => fromHex(frozen.get(spec.name)!.hex);

describe("golden record batches (test/fixtures/record-batches.json)", () => {
  it("the fixture holds every batch, made from exactly the inputs this test declares", () => {
    expect([...frozen.keys()]).toEqual(SPECS.map((s) => s.name));
    for (const spec of SPECS) {
      const batch = frozen.get(spec.name)!;
      expect(batch.madeBy).toBe(spec.madeBy);
      expect(batch.fields).toEqual(spec.fields);
      expect(batch.records).toEqual(toJsonRecords(spec.records));
    }
  });

  for (const spec of SPECS.filter((s) => s.madeBy === "edgelog" && s.fields.compression === "none")) {
    it(`edgelog's encoder still produces exactly the frozen bytes of ${spec.name}`, async () => {
      expect(toHex(await make(spec))).toBe(toHex(frozenBytes(spec)));
    });
  }

  for (const spec of SPECS.filter((s) => s.madeBy !== "edgelog" && s.fields.compression === "none")) {
    it(`kafkajs 2.2.4 still produces the frozen bytes of ${spec.name} (the fixture is genuine kafkajs output)`, async () => {
      expect(toHex(await make(spec))).toBe(toHex(frozenBytes(spec)));
    });
  }

  for (const spec of SPECS) {
    it(`edgelog decodes the frozen ${spec.name} to its records and header fields`, async () => {
      const bytes = frozenBytes(spec);
      expect(readBatchHeader(bytes)).toMatchObject({
        baseOffset: spec.fields.baseOffset,
        partitionLeaderEpoch: spec.fields.partitionLeaderEpoch,
        producerId: spec.fields.producerId,
        producerEpoch: spec.fields.producerEpoch,
        baseSequence: spec.fields.baseSequence,
        compression: spec.fields.compression,
        isTransactional: spec.fields.isTransactional,
        recordCount: spec.records.length,
        size: bytes.length,
      });
      expect(await decodeRecords(bytes)).toEqual(
        spec.records.map((r, i) => ({
          offset: spec.fields.baseOffset + i,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: r.headers,
        })),
      );
    });
  }

  for (const spec of SPECS.filter((s) => s.madeBy === "edgelog")) {
    it(`kafkajs decodes the frozen ${spec.name} to the same records`, async () => {
      const decoded = await kafkajsDecode(frozenBytes(spec));
      expect(decoded.records.map((r) => ({ ...r, headers: undefined }))).toEqual(
        spec.records.map((r, i) => ({
          offset: spec.fields.baseOffset + i,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: undefined,
        })),
      );
      expect(decoded.records.map((r) => r.headers)).toEqual(spec.records.map((r) => r.headers));
    });
  }

  it("for the same input, the frozen edgelog and kafkajs uncompressed batches are the same bytes", () => {
    expect(frozen.get("edgelog-uncompressed-idempotent")!.hex).toBe(frozen.get("kafkajs-uncompressed-idempotent")!.hex);
  });
});
