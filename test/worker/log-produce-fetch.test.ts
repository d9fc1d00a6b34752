/**
 * The JSON data plane of one partition log: produce answers, dense offsets, what a record keeps
 * on its way through the log, where records are placed, how fetch is bounded, acks, list
 * offsets, and long-polling.
 */
import { describe, expect, it } from "vitest";
import { partitionForKey } from "../../protocol/murmur2";
import { api, createTopic, expectError, fetchRecords, produce, uniqueTopic } from "./helpers";

const encoder = new TextEncoder();

interface Offsets {
  offsets: { partition: number; offset: number | null }[];
}
interface Fetched {
  records: {
    offset: number;
    timestamp: number;
    key: string | null;
    value: unknown;
    headers: Record<string, string | null>;
    keyEncoding?: string;
    valueEncoding?: string;
  }[];
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

async function produced(topic: string, records: unknown[], query = ""): Promise<Offsets["offsets"]> {
  const res = await produce(topic, records, query);
  const body = (await res.json()) as Offsets;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.offsets;
}

async function fetched(topic: string, partition: number, query = "offset=0"): Promise<Fetched> {
  const res = await fetchRecords(topic, partition, query);
  const body = (await res.json()) as Fetched;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function binaryFetchSize(topic: string, partition: number, query: string): Promise<number> {
  const res = await api(`/v1/topics/${topic}/partitions/${partition}/batches?${query}`);
  expect(res.status).toBe(200);
  return (await res.arrayBuffer()).byteLength;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("produce answers", () => {
  it("answers one {partition, offset} per record, in request order, with offsets dense from 0 in each partition", async () => {
    const topic = uniqueTopic("order");
    await createTopic(topic, 3);
    const partitions = [2, 0, 1, 0, 2, 2, 1, 0, 0];
    const offsets = await produced(
      topic,
      partitions.map((partition, i) => ({ value: `v${i}`, partition })),
    );
    const seen = new Map<number, number>();
    expect(offsets).toEqual(
      partitions.map((partition) => {
        const offset = seen.get(partition) ?? 0;
        seen.set(partition, offset + 1);
        return { partition, offset };
      }),
    );
    // A second request continues each partition where the first left it.
    const more = await produced(topic, [
      { value: "x", partition: 0 },
      { value: "y", partition: 1 },
      { value: "z", partition: 0 },
    ]);
    expect(more).toEqual([
      { partition: 0, offset: 4 },
      { partition: 1, offset: 2 },
      { partition: 0, offset: 5 },
    ]);
    // And the log holds each value at the offset it was given.
    const p0 = await fetched(topic, 0);
    expect(p0.records.map((r) => [r.offset, r.value])).toEqual([
      [0, "v1"],
      [1, "v3"],
      [2, "v7"],
      [3, "v8"],
      [4, "x"],
      [5, "z"],
    ]);
  });

  it("gives offsets 0..n-1 to n records produced one request at a time", async () => {
    const topic = uniqueTopic("dense");
    await createTopic(topic, 1);
    for (let i = 0; i < 12; i++) expect(await produced(topic, [{ value: i }])).toEqual([{ partition: 0, offset: i }]);
    const { records, highWatermark } = await fetched(topic, 0);
    expect(records.map((r) => r.offset)).toEqual([...Array(12).keys()]);
    expect(records.map((r) => r.value)).toEqual([...Array(12).keys()]);
    expect(highWatermark).toBe(12);
  });
});

describe("what a record keeps", () => {
  it("returns a JSON value as the same JSON value and a string as the same string", async () => {
    const topic = uniqueTopic("values");
    await createTopic(topic, 1);
    const values: unknown[] = [
      { a: 1, nested: { b: [1, "two", null, false] } },
      [1, 2, { three: 3 }],
      [],
      {},
      123,
      -0.5,
      0,
      true,
      false,
      "123",
      "true",
      "null",
      '{"a":1}',
      "",
      "plain text ✓ ключ",
    ];
    await produced(
      topic,
      values.map((value) => ({ value })),
    );
    const { records } = await fetched(topic, 0);
    expect(records.map((r) => r.value)).toEqual(values);
    // Type preserved, not just value: "123" is a string, 123 a number.
    expect(typeof records[9].value).toBe("string");
    expect(typeof records[4].value).toBe("number");
    expect(typeof records[8].value).toBe("boolean");
  });

  it("returns a null value (and an absent value) as null", async () => {
    const topic = uniqueTopic("null");
    await createTopic(topic, 1);
    await produced(topic, [
      { key: "k", value: null, partition: 0 },
      { key: "k2", partition: 0 },
    ]);
    const { records } = await fetched(topic, 0);
    expect(records.map((r) => [r.key, r.value])).toEqual([
      ["k", null],
      ["k2", null],
    ]);
  });

  it("returns headers, keys and explicit timestamps as they were sent", async () => {
    const topic = uniqueTopic("headers");
    await createTopic(topic, 1);
    const before = Date.now();
    await produced(topic, [
      { key: "k1", value: "v1", headers: { trace: "abc-123", empty: "", none: null, ünïcode: "värde" }, timestamp: 1_234_567_890_123 },
      { key: "k2", value: "v2", timestamp: 0 },
      { key: null, value: "v3" },
    ]);
    const after = Date.now();
    const { records } = await fetched(topic, 0);
    expect(records[0]).toMatchObject({
      key: "k1",
      value: "v1",
      timestamp: 1_234_567_890_123,
      headers: { trace: "abc-123", empty: "", none: null, ünïcode: "värde" },
    });
    expect(Object.keys(records[0].headers).sort()).toEqual(["empty", "none", "trace", "ünïcode"]);
    expect(records[1]).toMatchObject({ key: "k2", value: "v2", timestamp: 0, headers: {} });
    // Without a timestamp a record gets the time it was produced.
    expect(records[2].key).toBeNull();
    expect(records[2].timestamp).toBeGreaterThanOrEqual(before);
    expect(records[2].timestamp).toBeLessThanOrEqual(after);
  });

  it("returns non-UTF-8 keys and values sent as base64 as the same bytes, marked base64", async () => {
    const topic = uniqueTopic("base64");
    await createTopic(topic, 1);
    const key = btoa(String.fromCharCode(0xff, 0xfe, 0x00, 0x80, 0x7f));
    const value = btoa(String.fromCharCode(0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x00, 0xff));
    await produced(topic, [{ key, keyEncoding: "base64", value, valueEncoding: "base64", partition: 0 }]);
    const { records } = await fetched(topic, 0);
    expect(records[0]).toMatchObject({ key, keyEncoding: "base64", value, valueEncoding: "base64" });
  });
});

describe("where records go", () => {
  // Computed offline in Node with kafkajs 2.2.4's default partitioner
  // (node_modules/kafkajs/src/producer/partitioners/default), for a topic of 7 partitions.
  const KAFKAJS_7 = {
    "21": 3,
    "user-42": 1,
    "sensor-17": 0,
    a: 5,
    abc: 4,
    abcd: 5,
    "hello world": 2,
    kafka: 3,
    "édgelog-ключ": 4,
  } as const;

  it("places a keyed record where Kafka's default partitioner does: toPositive(murmur2(key)) % partitions", async () => {
    const topic = uniqueTopic("keyed");
    await createTopic(topic, 7);
    const keys = [...Object.keys(KAFKAJS_7), ...Array.from({ length: 30 }, (_, i) => `key-${i}`)];
    const offsets = await produced(
      topic,
      keys.map((key) => ({ key, value: key })),
    );
    keys.forEach((key, i) => expect(offsets[i].partition, key).toBe(partitionForKey(encoder.encode(key), 7)));
    for (const [key, partition] of Object.entries(KAFKAJS_7)) expect(offsets[keys.indexOf(key)].partition, key).toBe(partition);
    // The same key always lands in the same partition, in a later request too.
    const again = await produced(topic, [
      { key: "user-42", value: 1 },
      { key: "user-42", value: 2 },
    ]);
    expect(again.map((o) => o.partition)).toEqual([1, 1]);
  });

  it("places a base64 key by its bytes (kafkajs: partition 2 of 7 for ff fe 00 80 7f)", async () => {
    const topic = uniqueTopic("binkey");
    await createTopic(topic, 7);
    const key = btoa(String.fromCharCode(0xff, 0xfe, 0x00, 0x80, 0x7f));
    const [placed] = await produced(topic, [{ key, keyEncoding: "base64", value: "x" }]);
    expect(placed.partition).toBe(2);
    expect(placed.partition).toBe(partitionForKey(new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0x7f]), 7));
  });

  it("lets an explicit partition win over the key", async () => {
    const topic = uniqueTopic("explicit");
    await createTopic(topic, 7);
    const offsets = await produced(topic, [
      { key: "user-42", value: "a", partition: 6 },
      { key: "user-42", value: "b" },
      { value: "c", partition: 3 },
    ]);
    expect(offsets).toEqual([
      { partition: 6, offset: 0 },
      { partition: 1, offset: 0 },
      { partition: 3, offset: 0 },
    ]);
  });

  it("refuses a partition the topic does not have, storing nothing", async () => {
    const topic = uniqueTopic("nopart");
    await createTopic(topic, 2);
    await expectError(
      await produce(topic, [
        { value: "ok", partition: 0 },
        { value: "bad", partition: 2 },
      ]),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
    expect((await fetched(topic, 0)).highWatermark).toBe(0);
  });

  it("puts the unkeyed records of one request in one partition (sticky), densely", async () => {
    const topic = uniqueTopic("sticky");
    await createTopic(topic, 4);
    for (let round = 0; round < 5; round++) {
      const offsets = await produced(
        topic,
        Array.from({ length: 20 }, (_, i) => ({ value: `r${round}-${i}` })),
      );
      const partitions = new Set(offsets.map((o) => o.partition));
      expect(partitions.size).toBe(1);
      const base = offsets[0].offset as number;
      expect(offsets.map((o) => o.offset)).toEqual(Array.from({ length: 20 }, (_, i) => base + i));
    }
  });
});

describe("fetch bounds", () => {
  it("returns exactly maxRecords records, and nextOffset continues where they stopped", async () => {
    const topic = uniqueTopic("maxrecords");
    await createTopic(topic, 1);
    await produced(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: i })),
    );
    await produced(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ value: 10 + i })),
    );
    const first = await fetched(topic, 0, "offset=0&maxRecords=3");
    expect(first.records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(first.nextOffset).toBe(3);
    // Across a batch boundary, starting inside a batch.
    const middle = await fetched(topic, 0, "offset=8&maxRecords=4");
    expect(middle.records.map((r) => r.offset)).toEqual([8, 9, 10, 11]);
    expect(middle.nextOffset).toBe(12);
    // Walking with nextOffset reads every record once, in order.
    const seen: unknown[] = [];
    let offset = 0;
    for (let steps = 0; offset < 15 && steps < 20; steps++) {
      const page = await fetched(topic, 0, `offset=${offset}&maxRecords=4`);
      expect(page.records.length).toBe(Math.min(4, 15 - offset));
      seen.push(...page.records.map((r) => r.value));
      offset = page.nextOffset;
    }
    expect(seen).toEqual([...Array(15).keys()]);
  });

  it("bounds a fetch by maxBytes, but always returns the first batch whole", async () => {
    const topic = uniqueTopic("maxbytes");
    await createTopic(topic, 1);
    const big = "x".repeat(1000);
    for (let i = 0; i < 5; i++) await produced(topic, [{ value: `${i}${big}` }]);
    await produced(topic, [{ value: `a${big}` }, { value: `b${big}` }, { value: `c${big}` }]);
    // One byte allowed: still the first whole batch, and nothing after it.
    const one = await fetched(topic, 0, "offset=0&maxBytes=1");
    expect(one.records.map((r) => r.offset)).toEqual([0]);
    expect(one.nextOffset).toBe(1);
    // Room for two batches of ~1.1 KB but not three.
    const two = await fetched(topic, 0, "offset=0&maxBytes=2500");
    expect(two.records.map((r) => r.offset)).toEqual([0, 1]);
    expect(await binaryFetchSize(topic, 0, "offset=0&maxBytes=2500")).toBeLessThanOrEqual(2500);
    // A batch larger than maxBytes is returned whole when it comes first.
    const whole = await fetched(topic, 0, "offset=5&maxBytes=100");
    expect(whole.records.map((r) => r.offset)).toEqual([5, 6, 7]);
    expect(await binaryFetchSize(topic, 0, "offset=5&maxBytes=100")).toBeGreaterThan(3000);
  });

  it("answers 200 with no records at the high watermark, and OFFSET_OUT_OF_RANGE beyond it", async () => {
    const topic = uniqueTopic("hw");
    await createTopic(topic, 1);
    const empty = await fetched(topic, 0, "offset=0");
    expect(empty).toMatchObject({ records: [], nextOffset: 0, highWatermark: 0 });
    await expectError(await fetchRecords(topic, 0, "offset=1"), 400, "OFFSET_OUT_OF_RANGE");
    await produced(topic, [{ value: 1 }, { value: 2 }]);
    const atEnd = await fetched(topic, 0, "offset=2");
    expect(atEnd).toMatchObject({ records: [], nextOffset: 2, highWatermark: 2 });
    await expectError(await fetchRecords(topic, 0, "offset=3"), 400, "OFFSET_OUT_OF_RANGE");
    // Also when the fetch asked to wait: an offset out of range is refused at once.
    await expectError(await fetchRecords(topic, 0, "offset=3&maxWaitMs=20000"), 400, "OFFSET_OUT_OF_RANGE");
  }, 10_000);
});

describe("acks", () => {
  it("acks=0 answers 202 with null offsets, and the records land", async () => {
    const topic = uniqueTopic("acks0");
    await createTopic(topic, 1);
    const res = await produce(topic, [{ value: "a" }, { value: "b" }], "acks=0");
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      offsets: [
        { partition: 0, offset: null },
        { partition: 0, offset: null },
      ],
    });
    let records: Fetched["records"] = [];
    for (let i = 0; i < 50 && records.length < 2; i++) {
      records = (await fetched(topic, 0)).records;
      if (records.length < 2) await sleep(50);
    }
    expect(records.map((r) => [r.offset, r.value])).toEqual([
      [0, "a"],
      [1, "b"],
    ]);
  });

  it("acks=1 and acks=all answer the offsets", async () => {
    const topic = uniqueTopic("acks1");
    await createTopic(topic, 1);
    expect(await produced(topic, [{ value: 1 }], "acks=1")).toEqual([{ partition: 0, offset: 0 }]);
    expect(await produced(topic, [{ value: 2 }], "acks=all")).toEqual([{ partition: 0, offset: 1 }]);
    expect(await produced(topic, [{ value: 3 }], "acks=-1")).toEqual([{ partition: 0, offset: 2 }]);
    expect(await produced(topic, [{ value: 4 }])).toEqual([{ partition: 0, offset: 3 }]);
    await expectError(await produce(topic, [{ value: 5 }], "acks=2"), 400, "INVALID_REQUIRED_ACKS");
    expect((await fetched(topic, 0)).records.map((r) => r.value)).toEqual([1, 2, 3, 4]);
  });

  it("refuses acks=all with a retriable 503 NOT_ENOUGH_REPLICAS when min.insync.replicas exceeds the in-sync replicas, storing nothing; acks=1 still appends", async () => {
    const topic = uniqueTopic("minisr");
    await createTopic(topic, 1, { "min.insync.replicas": 2 });
    const refused = await expectError(await produce(topic, [{ value: "no" }], "acks=all"), 503, "NOT_ENOUGH_REPLICAS");
    expect(refused.retriable).toBe(true);
    await expectError(await produce(topic, [{ value: "no either" }]), 503, "NOT_ENOUGH_REPLICAS");
    expect((await fetched(topic, 0)).highWatermark).toBe(0);
    expect(await produced(topic, [{ value: "yes" }], "acks=1")).toEqual([{ partition: 0, offset: 0 }]);
    expect((await fetched(topic, 0)).records.map((r) => r.value)).toEqual(["yes"]);
  });
});

describe("list offsets", () => {
  it("answers earliest, latest, and the first offset whose timestamp is at or after a time (null when none is that new)", async () => {
    const topic = uniqueTopic("listoffsets");
    await createTopic(topic, 1);
    const at = async (spec: string) => {
      const res = await api(`/v1/topics/${topic}/partitions/0/offsets?timestamp=${spec}`);
      const body = (await res.json()) as { offset: number | null };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body.offset;
    };
    expect(await at("earliest")).toBe(0);
    expect(await at("latest")).toBe(0);
    // Timestamps near now: records a week old would be removed by the default retention.ms.
    const t0 = Date.now() - 60_000;
    expect(await at(String(t0))).toBeNull();
    // Three batches; timestamps are not in offset order within or across them.
    await produced(
      topic,
      [1000, 2000, 3000].map((dt, i) => ({ value: i, timestamp: t0 + dt })),
    );
    await produced(
      topic,
      [5000, 4000].map((dt, i) => ({ value: 3 + i, timestamp: t0 + dt })),
    );
    await produced(topic, [{ value: 5, timestamp: t0 + 4200 }]);
    expect(await at("earliest")).toBe(0);
    expect(await at("latest")).toBe(6);
    const expected: [number, number | null][] = [
      [0, 0],
      [t0, 0],
      [t0 + 1000, 0],
      [t0 + 1001, 1],
      [t0 + 2000, 1],
      [t0 + 3000, 2],
      [t0 + 3001, 3],
      [t0 + 4100, 3],
      [t0 + 5000, 3],
      [t0 + 5001, null],
    ];
    for (const [timestamp, offset] of expected) expect(await at(String(timestamp)), `timestamp ${timestamp}`).toBe(offset);
  });
});

describe("long-poll", () => {
  it("answers a waiting fetch with records produced after it started, not at its maxWaitMs", async () => {
    const topic = uniqueTopic("longpoll");
    await createTopic(topic, 1);
    await produced(topic, [{ value: "before" }]);
    const waiting = fetchRecords(topic, 0, "offset=1&maxWaitMs=20000");
    let settled = false;
    void waiting.then(() => (settled = true));
    await sleep(200);
    expect(settled).toBe(false);
    await produced(topic, [{ value: "after-1" }, { value: "after-2" }]);
    const res = await waiting;
    const body = (await res.json()) as Fetched;
    expect(res.status).toBe(200);
    expect(body.records.map((r) => [r.offset, r.value])).toEqual([
      [1, "after-1"],
      [2, "after-2"],
    ]);
    expect(body.nextOffset).toBe(3);
  }, 10_000);

  it("holds a waiting fetch until minBytes have arrived", async () => {
    const topic = uniqueTopic("minbytes");
    await createTopic(topic, 1);
    const waiting = fetchRecords(topic, 0, "offset=0&maxWaitMs=20000&minBytes=3000");
    let settled = false;
    void waiting.then(() => (settled = true));
    await sleep(100);
    await produced(topic, [{ value: "small" }]);
    await sleep(300);
    expect(settled).toBe(false);
    await produced(topic, [{ value: "y".repeat(4000) }]);
    const res = await waiting;
    const body = (await res.json()) as Fetched;
    expect(res.status).toBe(200);
    expect(body.records.map((r) => r.offset)).toEqual([0, 1]);
    expect(body.records[0].value).toBe("small");
  }, 10_000);

  it("answers a fetch with maxWaitMs=0 at once, even with nothing to return", async () => {
    const topic = uniqueTopic("nowait");
    await createTopic(topic, 1);
    const started = Date.now();
    const body = await fetched(topic, 0, "offset=0&maxWaitMs=0&minBytes=100000");
    expect(body.records).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
  }, 5_000);
});
