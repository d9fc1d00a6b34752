/**
 * Regressions found by code review, one `describe` per bug, each named for what broke. Every test
 * here failed on the code before its fix:
 *
 * - retention truncated to the log END when a whole page (512 batches) was deletable;
 * - setAlarm threw for dates past year 2189 after the append had committed (500 for a stored record);
 * - a JSON produce across partitions with one failing partition was retried whole (duplicates, 404);
 * - a batch's header maxTimestamp was trusted, and negative record timestamps accepted;
 * - with retention.bytes, the alarm re-armed every second forever after trimming;
 * - a JSON body that is not UTF-8 was stored with U+FFFD;
 * - an older config change arriving late at a partition replaced a newer one;
 * - a record header named "__proto__" vanished from the JSON view;
 * - a binary produce of more than 1,000 batches was accepted.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../protocol/crc32c";
import { BATCH_FIELD, encodeBatch, readBatchHeader, splitBatches, type RecordInput } from "../../protocol/record-batch";
import { replicaName } from "../../worker/controller/placement";
import type { TopicConfig } from "../../worker/controller/topic-config";
import type { Partition } from "../../worker/partition/partition-do";
import {
  api,
  BASE,
  createTopic,
  describeTopic,
  expectError,
  fetchRecords,
  produce,
  uniqueTopic,
  type PartitionDescription,
  type TopicDescription,
} from "./helpers";

const MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The partition object's alarm horizon (MAX_ALARM_HORIZON_MS): the alarm is never set further ahead. */
const THIRTY_DAYS = 30 * DAY;
/** Slack for the test's own running time. */
const SLACK = 60_000;
const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);

/** The stub of a partition's leader replica object ("<topicId>/<partition>/<replica>"). */
function leaderStub(topic: TopicDescription, partition = 0) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topic.topicId, partition, topic.partitions[partition].leader)));
}

function postBatches(topic: string, partition: number, body: Uint8Array): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches`, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE },
    body: body.slice(),
  });
}

async function appendedBinary(topic: string, partition: number, body: Uint8Array): Promise<{ baseOffset: number; lastOffset: number }> {
  const res = await postBatches(topic, partition, body);
  const json = (await res.json()) as { baseOffset: number; lastOffset: number };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

async function producedJson(topic: string, records: unknown[], headers: Record<string, string> = {}) {
  const res = await api(`/v1/topics/${topic}/records`, { method: "POST", headers, json: { records } });
  const body = (await res.json()) as { offsets: { partition: number; offset: number }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.offsets;
}

interface FetchedRecord {
  offset: number;
  timestamp: number;
  value: unknown;
  headers: Record<string, string | null>;
}

async function fetched(topic: string, partition: number, offset: number): Promise<FetchedRecord[]> {
  const res = await fetchRecords(topic, partition, `offset=${offset}&maxRecords=10000`);
  const body = (await res.json()) as { records: FetchedRecord[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.records;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `count` one-record batches, each the same size (fixed-width values, one timestamp per batch). */
async function oneRecordBatches(from: number, count: number, timestamp: (i: number) => number): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: count }, (_, k) => {
      const i = from + k;
      return encodeBatch([{ key: null, value: utf8(`r-${String(i).padStart(4, "0")}`) }], { timestamp: timestamp(i) });
    }),
  );
}

async function alarmAt(topic: TopicDescription, partition = 0): Promise<number | null> {
  return runInDurableObject(leaderStub(topic, partition), (_instance, state) => state.storage.getAlarm());
}

/**
 * Runs the partition's alarm until retention stops moving the log start offset (three runs in a
 * row without change), at most 12 runs. Alarms that are already due may also fire by themselves
 * between runs; the end state is the same.
 */
async function retentionSettled(topic: TopicDescription, partition = 0): Promise<PartitionDescription> {
  const stub = leaderStub(topic, partition);
  let last = -1;
  let unchanged = 0;
  for (let run = 0; run < 12 && unchanged < 2; run++) {
    await runDurableObjectAlarm(stub);
    const start = (await describeTopic(topic.name)).partitions[partition].logStartOffset;
    unchanged = start === last ? unchanged + 1 : 0;
    last = start;
  }
  return (await describeTopic(topic.name)).partitions[partition];
}

/** A copy of `batch` with timestamp fields rewritten and its CRC-32C (attributes..end) recomputed. */
function withTimestamps(batch: Uint8Array, fields: { baseTimestamp?: number; maxTimestamp?: number }): Uint8Array {
  const copy = batch.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  if (fields.baseTimestamp !== undefined) view.setBigInt64(BATCH_FIELD.baseTimestamp, BigInt(fields.baseTimestamp));
  if (fields.maxTimestamp !== undefined) view.setBigInt64(BATCH_FIELD.maxTimestamp, BigInt(fields.maxTimestamp));
  view.setUint32(BATCH_FIELD.crc, crc32c(copy, BATCH_FIELD.attributes, copy.length));
  return copy;
}

/** Appends `bytes` straight to a partition object (bypassing the worker's own checks); answers whether it was accepted. */
async function partitionAccepts(topic: TopicDescription, partition: number, bytes: Uint8Array): Promise<boolean> {
  const outcome = await runInDurableObject(leaderStub(topic, partition), (instance: Partition) =>
    instance.append({ batches: [{ header: readBatchHeader(bytes), bytes: bytes.slice() }], acks: 1 }),
  );
  if (!outcome.ok) expect(outcome.code).toBe("MESSAGE_TOO_LARGE");
  return outcome.ok;
}

describe("regression: retention that could delete a whole page of 512 batches truncated the log to its end", () => {
  it("with 1,000 batches and retention.bytes worth ~100 of them, the alarm keeps at least retention.bytes and the newest batches, and re-arms for the rest", async () => {
    const name = uniqueTopic("page-bytes");
    const now = Date.now();
    const first = await oneRecordBatches(0, 500, () => now);
    const second = await oneRecordBatches(500, 500, () => now);
    const size = first[0].length;
    for (const b of [...first, ...second]) expect(b.length).toBe(size);
    // Kafka's rule keeps the fewest batches that are still at least retention.bytes: ceil(100.5) = 101.
    const limit = Math.floor(100.5 * size);
    const keep = Math.ceil(limit / size);
    expect(keep).toBe(101);
    const topic = await createTopic(name, 1, { "retention.ms": -1, "retention.bytes": limit });
    expect(await appendedBinary(name, 0, concat(first))).toMatchObject({ baseOffset: 0, lastOffset: 499 });
    expect(await appendedBinary(name, 0, concat(second))).toMatchObject({ baseOffset: 500, lastOffset: 999 });
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 0, highWatermark: 1000, sizeBytes: 1000 * size });

    const after = await retentionSettled(topic);
    expect(after.sizeBytes).toBeGreaterThanOrEqual(limit);
    expect(after.highWatermark - after.logStartOffset).toBeGreaterThanOrEqual(100);
    expect(after).toMatchObject({ logStartOffset: 1000 - keep, highWatermark: 1000, sizeBytes: keep * size });
    // The newest records, and the first one kept, are readable; the one before is gone.
    expect((await fetched(name, 0, 995)).map((r) => [r.offset, r.value])).toEqual([995, 996, 997, 998, 999].map((i) => [i, `r-0${i}`]));
    expect((await fetched(name, 0, after.logStartOffset))[0]).toMatchObject({ offset: 899, value: "r-0899" });
    await expectError(await fetchRecords(name, 0, `offset=${after.logStartOffset - 1}`), 400, "OFFSET_OUT_OF_RANGE");
    // Offsets continue after the kept batches.
    expect(await producedJson(name, [{ value: "next" }])).toEqual([{ partition: 0, offset: 1000 }]);
  });

  it("with 600 expired batches followed by 10 fresh ones and retention.ms 60000, the alarm deletes the 600 across pages and keeps the 10", async () => {
    const name = uniqueTopic("page-age");
    const old = Date.now() - HOUR;
    const expired = await oneRecordBatches(0, 600, (i) => old + i);
    const fresh = await oneRecordBatches(600, 10, () => Date.now());
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    expect(await appendedBinary(name, 0, concat([...expired, ...fresh]))).toMatchObject({ baseOffset: 0, lastOffset: 609 });

    const after = await retentionSettled(topic);
    expect(after).toMatchObject({ logStartOffset: 600, highWatermark: 610, sizeBytes: 10 * fresh[0].length });
    expect((await fetched(name, 0, 600)).map((r) => [r.offset, r.value])).toEqual(
      Array.from({ length: 10 }, (_, k) => [600 + k, `r-0${600 + k}`]),
    );
    await expectError(await fetchRecords(name, 0, "offset=599"), 400, "OFFSET_OUT_OF_RANGE");
  });
});

describe("regression: an alarm date past year 2189 made setAlarm throw after the append had committed (a 500 for a stored record)", () => {
  it("a JSON record with timestamp 10000000000000 (year 2286) is answered 200, stored once, and the alarm is set at most 30 days ahead", async () => {
    const name = uniqueTopic("year-2286");
    const topic = await createTopic(name, 1);
    const res = await produce(name, [{ value: "from-the-future", timestamp: 10_000_000_000_000 }]);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text)).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
    const records = await fetched(name, 0, 0);
    expect(records.map((r) => [r.offset, r.timestamp, r.value])).toEqual([[0, 10_000_000_000_000, "from-the-future"]]);
    const alarm = await alarmAt(topic);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + THIRTY_DAYS);

    // The early alarm deletes nothing and looks again within the horizon.
    await runDurableObjectAlarm(leaderStub(topic));
    expect((await fetched(name, 0, 0)).map((r) => r.value)).toEqual(["from-the-future"]);
    const again = await alarmAt(topic);
    expect(again).not.toBeNull();
    expect(again!).toBeLessThanOrEqual(Date.now() + THIRTY_DAYS);
  });

  it("a topic with retention.ms 1e13 accepts its first append with 200, and another after every object is reset, each stored once", async () => {
    const name = uniqueTopic("retention-1e13");
    const topic = await createTopic(name, 1, { "retention.ms": 1e13 });
    const first = await produce(name, [{ value: "first" }]);
    expect(first.status, await first.text()).toBe(200);
    const alarm = await alarmAt(topic);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + THIRTY_DAYS);

    await abortAllDurableObjects();

    const second = await produce(name, [{ value: "second" }]);
    expect(second.status, await second.text()).toBe(200);
    expect((await fetched(name, 0, 0)).map((r) => [r.offset, r.value])).toEqual([
      [0, "first"],
      [1, "second"],
    ]);
    expect(await alarmAt(topic)).toBeLessThanOrEqual(Date.now() + THIRTY_DAYS);
  });

  it("raising retention.ms from -1 (no alarm set) to 1e13 on a topic with records is answered 200 and sets the alarm within 30 days", async () => {
    const name = uniqueTopic("alter-1e13");
    const topic = await createTopic(name, 1, { "retention.ms": -1 });
    await producedJson(name, [{ value: "kept" }]);
    expect(await alarmAt(topic)).toBeNull();
    const res = await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": 1e13 } } });
    expect(res.status, await res.text()).toBe(200);
    const alarm = await alarmAt(topic);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeLessThanOrEqual(Date.now() + THIRTY_DAYS);
    expect((await fetched(name, 0, 0)).map((r) => r.value)).toEqual(["kept"]);
  });
});

describe("regression: a JSON produce spanning partitions, one of which failed, was retried whole (duplicates) and answered 404", () => {
  it("when one partition applies and another fails, the answer is 503 REQUEST_TIMED_OUT retriable, and the applied partition holds the record once", async () => {
    const name = uniqueTopic("partial");
    const topic = await createTopic(name, 2);
    // Warm this isolate's metadata cache: a failure on cached metadata is what used to be retried.
    await producedJson(name, [{ value: "warm", partition: 0 }]);
    // Partition 1's object loses its storage: it no longer knows the topic.
    await runInDurableObject(leaderStub(topic, 1), (instance: Partition) => instance.destroy());

    const error = await expectError(
      await produce(name, [
        { value: "to-0", partition: 0 },
        { value: "to-1", partition: 1 },
      ]),
      503,
      "REQUEST_TIMED_OUT",
    );
    expect(error.retriable).toBe(true);
    expect((await fetched(name, 0, 0)).map((r) => [r.offset, r.value])).toEqual([
      [0, "warm"],
      [1, "to-0"],
    ]);
  });

  it("when every partition of the request fails alike, nothing was applied and the partition's own 404 UNKNOWN_TOPIC_OR_PARTITION stands", async () => {
    const name = uniqueTopic("allfail");
    const topic = await createTopic(name, 2);
    await producedJson(name, [{ value: "warm", partition: 0 }]);
    await runInDurableObject(leaderStub(topic, 1), (instance: Partition) => instance.destroy());

    const error = await expectError(await produce(name, [{ value: "only-1", partition: 1 }]), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    expect(error.retriable).toBe(false);
    expect((await fetched(name, 0, 0)).map((r) => r.value)).toEqual(["warm"]);
  });
});

describe("regression: a batch header's maxTimestamp was trusted (retention and ListOffsets read it)", () => {
  it("a create-time batch whose maxTimestamp is not its newest record's is 400 CORRUPT_MESSAGE, alone or after a valid batch, and nothing is stored", async () => {
    const name = uniqueTopic("maxts");
    await createTopic(name, 1);
    const t = Date.now();
    const good = await encodeBatch([
      { key: null, value: utf8("a"), timestamp: t },
      { key: null, value: utf8("b"), timestamp: t + 5 },
    ]);
    const pinned = withTimestamps(good, { maxTimestamp: 10_000_000_000_000 });
    const early = withTimestamps(good, { maxTimestamp: 0 });
    await expectError(await postBatches(name, 0, pinned), 400, "CORRUPT_MESSAGE");
    await expectError(await postBatches(name, 0, early), 400, "CORRUPT_MESSAGE");
    await expectError(await postBatches(name, 0, concat([good, pinned])), 400, "CORRUPT_MESSAGE");
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ highWatermark: 0, sizeBytes: 0 });
    // The honest batch is accepted, and its time is what ListOffsets finds.
    expect(await appendedBinary(name, 0, good)).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    const res = await api(`/v1/topics/${name}/partitions/0/offsets?timestamp=${t + 1}`);
    expect(((await res.json()) as { offset: number | null }).offset).toBe(1);
  });

  it("a batch with a negative record timestamp (header consistent, CRC valid) is 400 INVALID_TIMESTAMP and nothing is stored", async () => {
    const name = uniqueTopic("negts");
    await createTopic(name, 1);
    const one = await encodeBatch([{ key: null, value: utf8("x"), timestamp: Date.now() }]);
    const negative = withTimestamps(one, { baseTimestamp: -5, maxTimestamp: -5 });
    await expectError(await postBatches(name, 0, negative), 400, "INVALID_TIMESTAMP");
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ highWatermark: 0, sizeBytes: 0 });
  });
});

describe("regression: with retention.bytes the alarm re-armed every second forever once the log was trimmed", () => {
  /** 8 batches of growing size; answers their sizes, read back from the log. */
  async function growingBatches(name: string, headers: Record<string, string> = {}): Promise<number[]> {
    for (let i = 0; i < 8; i++) await producedJson(name, [{ value: `${i}:${"b".repeat(100 + i * 40)}` }], i === 0 ? headers : {});
    const all = new Uint8Array(await (await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0`)).arrayBuffer());
    return splitBatches(all).map((b) => b.header.size);
  }

  /** Kafka's rule: drop the oldest while what remains without it is still >= limit. */
  function trimmed(sizes: number[], limit: number): { start: number; size: number } {
    let size = sizes.reduce((a, b) => a + b, 0);
    let start = 0;
    while (size - sizes[start] >= limit) size -= sizes[start++];
    return { start, size };
  }

  it("after an alarm trims the log to retention.bytes (retention.ms -1, no idempotence state), no alarm is left a second away", async () => {
    const name = uniqueTopic("bytes-rearm");
    const limit = 1500;
    const topic = await createTopic(name, 1, { "retention.ms": -1, "retention.bytes": limit });
    const sizes = await growingBatches(name);
    const { start, size } = trimmed(sizes, limit);
    // What is kept is above the limit, yet deleting one more batch would go below it.
    expect(start).toBeGreaterThan(0);
    expect(size).toBeGreaterThan(limit);

    await runDurableObjectAlarm(leaderStub(topic));
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: start, highWatermark: 8, sizeBytes: size });
    const alarm = await alarmAt(topic);
    if (alarm !== null) expect(alarm).toBeGreaterThan(Date.now() + 60_000);
    // Whatever is left to run deletes nothing more.
    await runDurableObjectAlarm(leaderStub(topic));
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: start, sizeBytes: size });
  });

  it("after an alarm trims the log, an idempotency key keeps the next alarm at its expiry a day away, not a second away", async () => {
    const name = uniqueTopic("bytes-rearm-key");
    const limit = 1500;
    const topic = await createTopic(name, 1, { "retention.ms": -1, "retention.bytes": limit });
    const sizes = await growingBatches(name, { "idempotency-key": "trim-then-wait" });
    const { start, size } = trimmed(sizes, limit);
    expect(size).toBeGreaterThan(limit);

    await runDurableObjectAlarm(leaderStub(topic));
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: start, sizeBytes: size });
    const alarm = await alarmAt(topic);
    expect(alarm).not.toBeNull();
    expect(alarm!).toBeGreaterThan(Date.now() + DAY - HOUR);
    expect(alarm!).toBeLessThanOrEqual(Date.now() + DAY + SLACK);
  });
});

describe("regression: a JSON body that is not valid UTF-8 was stored with U+FFFD", () => {
  it("a produce body with a 0xFF byte inside a string is 400 INVALID_REQUEST and nothing is stored", async () => {
    const name = uniqueTopic("utf8");
    await createTopic(name, 1);
    // {"records":[{"value":"<0xFF>"}]}
    const body = new Uint8Array([
      0x7b, 0x22, 0x72, 0x65, 0x63, 0x6f, 0x72, 0x64, 0x73, 0x22, 0x3a, 0x5b, 0x7b, 0x22, 0x76, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22,
      0xff, 0x22, 0x7d, 0x5d, 0x7d,
    ]);
    const res = await SELF.fetch(`${BASE}/v1/topics/${name}/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await expectError(res, 400, "INVALID_REQUEST");
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ highWatermark: 0, sizeBytes: 0 });
    // The same character sent as UTF-8 (0xC3 0xBF) is stored as itself.
    const valid = concat([body.subarray(0, 22), new Uint8Array([0xc3, 0xbf]), body.subarray(23)]);
    const ok = await SELF.fetch(`${BASE}/v1/topics/${name}/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: valid,
    });
    expect(ok.status, await ok.text()).toBe(200);
    expect((await fetched(name, 0, 0)).map((r) => r.value)).toEqual(["\u00ff"]);
  });
});

describe("regression: a config change arriving at a partition after a newer one replaced it", () => {
  it("a partition given config version 5 ignores version 3 (also after a reset), and applies version 6", async () => {
    const name = uniqueTopic("config-version");
    const topic = await createTopic(name, 1);
    const base = topic.config as unknown as TopicConfig;
    const configA: TopicConfig = { ...base, "max.message.bytes": 200 };
    const configB: TopicConfig = { ...base, "max.message.bytes": 1_000_000 };
    const big = await encodeBatch([{ key: null, value: utf8("y".repeat(400)) }]);
    const small = await encodeBatch([{ key: null, value: utf8("small") }]);
    expect(big.length).toBeGreaterThan(200);
    expect(small.length).toBeLessThan(200);

    await runInDurableObject(leaderStub(topic), async (instance: Partition) => {
      expect(await instance.configure(configA, 5)).toMatchObject({ ok: true });
      expect(await instance.configure(configB, 3)).toMatchObject({ ok: true });
    });
    expect(await partitionAccepts(topic, 0, big)).toBe(false);
    expect(await partitionAccepts(topic, 0, small)).toBe(true);

    // The version is kept with the config: a reset object still ignores an older one (a stub from
    // before the reset is dead, so each call takes a new one).
    await abortAllDurableObjects();
    await runInDurableObject(leaderStub(topic), (instance: Partition) => instance.configure(configB, 4));
    expect(await partitionAccepts(topic, 0, big)).toBe(false);

    await runInDurableObject(leaderStub(topic), (instance: Partition) => instance.configure(configB, 6));
    expect(await partitionAccepts(topic, 0, big)).toBe(true);
  });

  it("two PATCHes of a topic's config in quick succession leave the described config and every partition's behaviour at the same, last one", async () => {
    const name = uniqueTopic("config-patches");
    const topic = await createTopic(name, 3);
    const patch = (maxMessageBytes: number) =>
      api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "max.message.bytes": maxMessageBytes } } });
    const batch = await encodeBatch([{ key: null, value: utf8("z".repeat(1000)) }]);
    expect(batch.length).toBeGreaterThan(300);
    expect(batch.length).toBeLessThan(5000);

    // One after the other, without pause: the last one wins everywhere.
    expect((await patch(5000)).status).toBe(200);
    expect((await patch(300)).status).toBe(200);
    expect((await describeTopic(name)).config["max.message.bytes"]).toBe(300);
    for (const p of topic.partitions) expect(await partitionAccepts(topic, p.partition, batch)).toBe(false);

    // Concurrently: whichever the controller ordered last is what the topic says and what partitions do.
    const answers = await Promise.all([patch(300), patch(5000)]);
    for (const res of answers) expect(res.status, await res.text()).toBe(200);
    const final = (await describeTopic(name)).config["max.message.bytes"];
    expect([300, 5000]).toContain(final);
    for (const p of topic.partitions) expect(await partitionAccepts(topic, p.partition, batch)).toBe(final === 5000);
    await expectError(
      await postBatches(name, 0, await encodeBatch([{ key: null, value: utf8("z".repeat(6000)) }])),
      413,
      "MESSAGE_TOO_LARGE",
    );
  });
});

describe('regression: a record header named "__proto__" was lost from the JSON view', () => {
  const records: RecordInput[] = [
    {
      key: null,
      value: utf8("v"),
      headers: [
        { key: "__proto__", value: utf8("just a header") },
        { key: "trace", value: utf8("t-1") },
      ],
    },
  ];

  function expectProtoHeader(headers: Record<string, string | null>): void {
    expect(Object.keys(headers)).toEqual(["__proto__", "trace"]);
    expect(Object.hasOwn(headers, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(headers, "__proto__")?.value).toBe("just a header");
    expect(headers.trace).toBe("t-1");
  }

  it('a binary-produced record with header "__proto__" comes back in the JSON fetch with that header as an own key', async () => {
    const name = uniqueTopic("proto-binary");
    await createTopic(name, 1);
    await appendedBinary(name, 0, await encodeBatch(records));
    const [record] = await fetched(name, 0, 0);
    expectProtoHeader(record.headers);
  });

  it('a JSON-produced record with header "__proto__" round-trips through the JSON fetch', async () => {
    const name = uniqueTopic("proto-json");
    await createTopic(name, 1);
    // Written by hand: an object literal's "__proto__" would set a prototype, not a key.
    const body = '{"records":[{"value":"v","headers":{"__proto__":"just a header","trace":"t-1"}}]}';
    const res = await SELF.fetch(`${BASE}/v1/topics/${name}/records`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(res.status, await res.text()).toBe(200);
    const [record] = await fetched(name, 0, 0);
    expectProtoHeader(record.headers);
  });
});

describe("regression: a binary produce request with more than 1,000 batches was accepted", () => {
  it("1,001 batches in one request are 413 RECORD_LIST_TOO_LARGE and nothing is stored; 1,000 are accepted", async () => {
    const name = uniqueTopic("batch-count");
    await createTopic(name, 1);
    const now = Date.now();
    const batches = await oneRecordBatches(0, 1001, () => now);
    await expectError(await postBatches(name, 0, concat(batches)), 413, "RECORD_LIST_TOO_LARGE");
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ highWatermark: 0, sizeBytes: 0 });
    expect(await appendedBinary(name, 0, concat(batches.slice(0, 1000)))).toMatchObject({ baseOffset: 0, lastOffset: 999 });
  });
});
