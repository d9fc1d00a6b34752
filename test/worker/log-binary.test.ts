/**
 * The binary data plane: Kafka RecordBatch v2 bytes in and out. Valid batches are stored as sent
 * (only baseOffset and partitionLeaderEpoch are stamped) and served back byte for byte; corrupt
 * input is refused whole, leaving the log exactly as it was.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../protocol/crc32c";
import {
  BATCH_FIELD,
  decodeRecords,
  encodeBatch,
  readBatchHeader,
  splitBatches,
  type DecodedRecord,
  type RecordInput,
} from "../../protocol/record-batch";
import { BASE, createTopic, expectError, fetchRecords, uniqueTopic } from "./helpers";

const MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Appended {
  partition: number;
  baseOffset: number;
  lastOffset: number;
  batches: { baseOffset: number; lastOffset: number; duplicate: boolean }[];
  highWatermark: number;
  logStartOffset: number;
}

function postBatches(topic: string, partition: number, body: Uint8Array, query = ""): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches${query ? `?${query}` : ""}`, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE },
    body: body.slice(),
  });
}

async function appended(topic: string, partition: number, body: Uint8Array): Promise<Appended> {
  const res = await postBatches(topic, partition, body);
  const json = (await res.json()) as Appended;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

async function getBatches(topic: string, partition: number, query: string) {
  const res = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches?${query}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  expect(res.status, decoder.decode(bytes)).toBe(200);
  return {
    bytes,
    contentType: res.headers.get("content-type"),
    highWatermark: Number(res.headers.get("edgelog-high-watermark")),
    nextOffset: Number(res.headers.get("edgelog-next-offset")),
    logStartOffset: Number(res.headers.get("edgelog-log-start-offset")),
  };
}

async function highWatermark(topic: string, partition = 0): Promise<number> {
  const res = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/offsets?timestamp=latest`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { offset: number }).offset;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Recomputes the CRC-32C after an edit, so the fault is found by the record checks, not the CRC. */
function recrc(batch: Uint8Array): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setUint32(BATCH_FIELD.crc, crc32c(batch, BATCH_FIELD.attributes));
  return batch;
}

function setInt32(batch: Uint8Array, at: number, value: number): Uint8Array {
  new DataView(batch.buffer, batch.byteOffset).setInt32(at, value);
  return batch;
}

const text = (b: Uint8Array | null) => (b === null ? null : decoder.decode(b));
const plain = (r: DecodedRecord) => ({
  offset: r.offset,
  timestamp: r.timestamp,
  key: text(r.key),
  value: text(r.value),
  headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
});

const t0 = Date.now() - 10_000;
function records(prefix: string, n: number): RecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 3 === 2 ? null : encoder.encode(`${prefix}-k${i}`),
    value: i % 4 === 3 ? null : encoder.encode(`${prefix}-v${i} ${"·".repeat(i)}`),
    headers:
      i % 2 === 0
        ? [
            { key: "trace", value: encoder.encode(`t${i}`) },
            { key: "empty", value: null },
          ]
        : [],
    timestamp: t0 + i * 7,
  }));
}
const expectedRecords = (inputs: RecordInput[], firstOffset: number) =>
  inputs.map((r, i) => ({
    offset: firstOffset + i,
    timestamp: r.timestamp,
    key: text(r.key),
    value: text(r.value),
    headers: (r.headers ?? []).map((h) => ({ key: h.key, value: text(h.value) })),
  }));

describe("binary produce and fetch", () => {
  it("stores concatenated plain and gzip batches at dense offsets and serves them back byte for byte", async () => {
    const topic = uniqueTopic("bin");
    await createTopic(topic, 2);
    const plainInputs = records("plain", 3);
    const gzipInputs = records("gzip", 5);
    const plainBatch = await encodeBatch(plainInputs);
    const gzipBatch = await encodeBatch(gzipInputs, { compression: "gzip" });
    const answer = await appended(topic, 1, concat(plainBatch, gzipBatch));
    expect(answer).toMatchObject({
      partition: 1,
      baseOffset: 0,
      lastOffset: 7,
      batches: [
        { baseOffset: 0, lastOffset: 2, duplicate: false },
        { baseOffset: 3, lastOffset: 7, duplicate: false },
      ],
      highWatermark: 8,
    });

    const got = await getBatches(topic, 1, "offset=0");
    expect(got.contentType).toBe(MEDIA_TYPE);
    expect(got.highWatermark).toBe(8);
    expect(got.nextOffset).toBe(8);
    expect(got.logStartOffset).toBe(0);
    const stored = splitBatches(got.bytes);
    expect(stored.map((b) => [b.header.baseOffset, b.header.lastOffsetDelta, b.header.compression])).toEqual([
      [0, 2, "none"],
      [3, 4, "gzip"],
    ]);
    // The stored bytes are the sent bytes; only baseOffset (0-7) and partitionLeaderEpoch (12-15) were stamped.
    for (const [sent, kept] of [
      [plainBatch, stored[0].bytes],
      [gzipBatch, stored[1].bytes],
    ] as const) {
      expect(kept.length).toBe(sent.length);
      expect([...kept.subarray(8, 12)]).toEqual([...sent.subarray(8, 12)]);
      expect([...kept.subarray(16)]).toEqual([...sent.subarray(16)]);
    }
    const decoded = [...(await decodeRecords(stored[0].bytes)), ...(await decodeRecords(stored[1].bytes))].map(plain);
    expect(decoded).toEqual([...expectedRecords(plainInputs, 0), ...expectedRecords(gzipInputs, 3)]);

    // The other partition is untouched.
    expect(await highWatermark(topic, 0)).toBe(0);
    // A later append continues the offsets.
    expect((await appended(topic, 1, await encodeBatch(records("next", 2)))).batches).toEqual([
      { baseOffset: 8, lastOffset: 9, duplicate: false },
    ]);
  });

  it("serves from the batch holding the asked offset (which may start before it), with the next offset after it", async () => {
    const topic = uniqueTopic("binmid");
    await createTopic(topic, 1);
    await appended(
      topic,
      0,
      concat(
        await encodeBatch(records("a", 4)),
        await encodeBatch(records("b", 4), { compression: "gzip" }),
        await encodeBatch(records("c", 2)),
      ),
    );
    const mid = await getBatches(topic, 0, "offset=5&maxRecords=1");
    const batches = splitBatches(mid.bytes);
    expect(batches.map((b) => b.header.baseOffset)).toEqual([4]);
    expect(mid.nextOffset).toBe(8);
    expect(mid.highWatermark).toBe(10);
    const atEnd = await getBatches(topic, 0, "offset=10");
    expect(atEnd.bytes.length).toBe(0);
    expect(atEnd.nextOffset).toBe(10);
    await expectError(await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/0/batches?offset=11`), 400, "OFFSET_OUT_OF_RANGE");
  });

  it("lets the JSON fetch read binary-produced records, compressed or not", async () => {
    const topic = uniqueTopic("binjson");
    await createTopic(topic, 1);
    const inputs = records("j", 4);
    await appended(topic, 0, concat(await encodeBatch(inputs.slice(0, 2), { compression: "gzip" }), await encodeBatch(inputs.slice(2))));
    const res = await fetchRecords(topic, 0, "offset=1");
    const body = (await res.json()) as {
      records: { offset: number; timestamp: number; key: string | null; value: unknown; headers: Record<string, string | null> }[];
    };
    expect(res.status).toBe(200);
    expect(body.records).toEqual(
      expectedRecords(inputs, 0)
        .slice(1)
        .map((r) => ({
          offset: r.offset,
          timestamp: r.timestamp,
          key: r.key,
          value: r.value,
          headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value])),
        })),
    );
  });

  it("answers acks=0 with 202 and appends the batch", async () => {
    const topic = uniqueTopic("binacks0");
    await createTopic(topic, 1);
    const res = await postBatches(topic, 0, await encodeBatch(records("z", 3)), "acks=0");
    expect(res.status).toBe(202);
    let hw = 0;
    for (let i = 0; i < 50 && hw < 3; i++) {
      hw = await highWatermark(topic);
      if (hw < 3) await new Promise((r) => setTimeout(r, 50));
    }
    expect(hw).toBe(3);
  });
});

describe("corrupt input is refused and stores nothing", () => {
  /** Each case turns a valid 3-record batch into the body to send. */
  const cases: { title: string; code: string; status?: number; corrupt: (batch: Uint8Array, good: Uint8Array) => Uint8Array }[] = [
    {
      title: "a flipped byte in the attributes (right after the CRC)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => ((b[BATCH_FIELD.attributes + 1] ^= 0x40), b),
    },
    { title: "a flipped byte in a record's value", code: "CORRUPT_MESSAGE", corrupt: (b) => ((b[b.length - 10] ^= 0x01), b) },
    { title: "a flipped byte in the last record", code: "CORRUPT_MESSAGE", corrupt: (b) => ((b[b.length - 1] ^= 0xff), b) },
    { title: "a truncated batch", code: "CORRUPT_MESSAGE", corrupt: (b) => b.slice(0, b.length - 5) },
    { title: "a batch cut inside its header", code: "CORRUPT_MESSAGE", corrupt: (b) => b.slice(0, 30) },
    {
      title: "a batchLength longer than the batch",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => setInt32(b, BATCH_FIELD.batchLength, b.length - 12 + 9),
    },
    {
      title: "a batchLength shorter than the batch",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => setInt32(b, BATCH_FIELD.batchLength, b.length - 12 - 9),
    },
    { title: "a batchLength shorter than a header", code: "CORRUPT_MESSAGE", corrupt: (b) => setInt32(b, BATCH_FIELD.batchLength, 20) },
    {
      title: "a record length that overstates the record (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => {
        // The first record's length is a one-byte zig-zag varint right after the header.
        const length = b[BATCH_FIELD.records] >>> 1;
        b[BATCH_FIELD.records] = (length + 1) << 1;
        return recrc(b);
      },
    },
    {
      title: "a record length that understates the record (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => {
        const length = b[BATCH_FIELD.records] >>> 1;
        b[BATCH_FIELD.records] = (length - 1) << 1;
        return recrc(b);
      },
    },
    {
      title: "a recordsCount above the records present (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => recrc(setInt32(b, BATCH_FIELD.recordsCount, 4)),
    },
    {
      title: "recordsCount and lastOffsetDelta both one too many (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => recrc(setInt32(setInt32(b, BATCH_FIELD.recordsCount, 4), BATCH_FIELD.lastOffsetDelta, 3)),
    },
    {
      title: "recordsCount and lastOffsetDelta both one too few (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => recrc(setInt32(setInt32(b, BATCH_FIELD.recordsCount, 2), BATCH_FIELD.lastOffsetDelta, 1)),
    },
    {
      title: "recordsCount 0 (CRC recomputed)",
      code: "CORRUPT_MESSAGE",
      corrupt: (b) => recrc(setInt32(setInt32(b, BATCH_FIELD.recordsCount, 0), BATCH_FIELD.lastOffsetDelta, -1)),
    },
    {
      title: "a good batch followed by a corrupt one in the same body",
      code: "CORRUPT_MESSAGE",
      corrupt: (b, good) => concat(good, ((b[b.length - 3] ^= 0x10), b)),
    },
    {
      title: "a good batch followed by a few stray bytes",
      code: "CORRUPT_MESSAGE",
      corrupt: (_b, good) => concat(good, new Uint8Array([1, 2, 3, 4, 5])),
    },
    {
      title: "a batch of magic 1 (the legacy message format)",
      code: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
      corrupt: (b) => ((b[BATCH_FIELD.magic] = 1), b),
    },
    {
      title: "a good batch followed by one of magic 0",
      code: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
      corrupt: (b, good) => concat(good, ((b[BATCH_FIELD.magic] = 0), b)),
    },
    { title: "an empty body", code: "INVALID_REQUEST", corrupt: () => new Uint8Array(0) },
  ];

  for (const { title, code, status = 400, corrupt } of cases) {
    it(`refuses ${title} with ${code}, and the next good batch gets the next dense offset`, async () => {
      const topic = uniqueTopic("corrupt");
      await createTopic(topic, 1);
      await appended(topic, 0, await encodeBatch(records("first", 2)));
      const body = corrupt(await encodeBatch(records("bad", 3)), await encodeBatch(records("good-in-bad-body", 2)));
      await expectError(await postBatches(topic, 0, body), status, code);
      expect(await highWatermark(topic)).toBe(2);
      const next = await appended(topic, 0, await encodeBatch(records("after", 1)));
      expect(next.batches).toEqual([{ baseOffset: 2, lastOffset: 2, duplicate: false }]);
      const stored = splitBatches((await getBatches(topic, 0, "offset=0")).bytes);
      expect(stored.map((b) => b.header.baseOffset)).toEqual([0, 2]);
    });
  }

  it("refuses a gzip batch whose compressed bytes are garbage (CRC recomputed) with CORRUPT_MESSAGE", async () => {
    const topic = uniqueTopic("badgzip");
    await createTopic(topic, 1);
    const batch = await encodeBatch(records("gz", 5), { compression: "gzip" });
    batch[BATCH_FIELD.records + 15] ^= 0xff;
    batch[BATCH_FIELD.records + 16] ^= 0xff;
    await expectError(await postBatches(topic, 0, recrc(batch)), 400, "CORRUPT_MESSAGE");
    expect(await highWatermark(topic)).toBe(0);
  });

  it("refuses a batch above the topic's max.message.bytes with 413 MESSAGE_TOO_LARGE, storing nothing of the body", async () => {
    const topic = uniqueTopic("toolarge");
    await createTopic(topic, 1, { "max.message.bytes": 1000 });
    const small = await encodeBatch([{ key: null, value: encoder.encode("small") }]);
    const large = await encodeBatch([{ key: null, value: encoder.encode("L".repeat(2000)) }]);
    expect(readBatchHeader(large).size).toBeGreaterThan(1000);
    await expectError(await postBatches(topic, 0, large), 413, "MESSAGE_TOO_LARGE");
    await expectError(await postBatches(topic, 0, concat(small, large)), 413, "MESSAGE_TOO_LARGE");
    expect(await highWatermark(topic)).toBe(0);
    expect((await appended(topic, 0, small)).baseOffset).toBe(0);
  });
});
