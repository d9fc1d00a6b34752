/**
 * Retention (Kafka's cleanup.policy=delete), run by the partition object's alarm: by age
 * (retention.ms) and by size (retention.bytes), whole batches from the oldest, the log start
 * offset moving to the first batch kept, and offsets continuing densely afterwards.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { splitBatches } from "../../protocol/record-batch";
import { replicaName } from "../../worker/controller/placement";
import { api, BASE, createTopic, describeTopic, expectError, fetchRecords, uniqueTopic, type TopicDescription } from "./helpers";

const HOUR = 3_600_000;

/** The stub of a partition's leader replica object. */
function leaderStub(topic: TopicDescription, partition = 0) {
  const leader = topic.partitions[partition].leader;
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topic.topicId, partition, leader)));
}

async function produced(
  topic: string,
  records: unknown[],
  headers: Record<string, string> = {},
): Promise<{ partition: number; offset: number }[]> {
  const res = await api(`/v1/topics/${topic}/records`, { method: "POST", headers, json: { records } });
  const body = (await res.json()) as { offsets: { partition: number; offset: number }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.offsets;
}

async function offsetAt(topic: string, spec: string): Promise<number | null> {
  const res = await api(`/v1/topics/${topic}/partitions/0/offsets?timestamp=${spec}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { offset: number | null }).offset;
}

async function fetchedValues(topic: string, offset: number): Promise<unknown[]> {
  const res = await fetchRecords(topic, 0, `offset=${offset}&maxRecords=10000`);
  const body = (await res.json()) as { records: { value: unknown }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.records.map((r) => r.value);
}

async function alarmAt(topic: TopicDescription): Promise<number | null> {
  return runInDurableObject(leaderStub(topic), (_instance, state) => state.storage.getAlarm());
}

/** Runs the partition's retention now (the alarm may also have fired by itself if it was due). */
async function runRetention(topic: TopicDescription): Promise<void> {
  await runDurableObjectAlarm(leaderStub(topic));
}

describe("retention.ms", () => {
  it("deletes the batches older than retention.ms from the oldest on: the log start offset moves past them, reads below it are OFFSET_OUT_OF_RANGE, newer records stay", async () => {
    const name = uniqueTopic("age");
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    const old = Date.now() - HOUR;
    for (let i = 0; i < 3; i++)
      await produced(name, [
        { value: `old-${i}a`, timestamp: old + i },
        { value: `old-${i}b`, timestamp: old + i },
      ]);
    await produced(name, [{ value: "new-0" }, { value: "new-1" }]);
    await produced(name, [{ value: "new-2" }]);
    await runRetention(topic);

    const described = await describeTopic(name);
    expect(described.partitions[0]).toMatchObject({ logStartOffset: 6, highWatermark: 9 });
    await expectError(await fetchRecords(name, 0, "offset=0"), 400, "OFFSET_OUT_OF_RANGE");
    await expectError(await fetchRecords(name, 0, "offset=5"), 400, "OFFSET_OUT_OF_RANGE");
    expect(await fetchedValues(name, 6)).toEqual(["new-0", "new-1", "new-2"]);
    expect(await offsetAt(name, "earliest")).toBe(6);
    expect(await offsetAt(name, "latest")).toBe(9);
    // The deleted records' timestamps now find the first record kept.
    expect(await offsetAt(name, String(old))).toBe(6);
    const bin = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=6`);
    expect(bin.headers.get("edgelog-log-start-offset")).toBe("6");
  });

  it("stops at the first batch that has not expired, as Kafka stops at the first segment (an old batch after a new one stays)", async () => {
    const name = uniqueTopic("agestop");
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    const old = Date.now() - HOUR;
    await produced(name, [{ value: "old-0", timestamp: old }]);
    await produced(name, [{ value: "new-0" }]);
    await produced(name, [{ value: "old-late", timestamp: old }]);
    await runRetention(topic);
    expect(await offsetAt(name, "earliest")).toBe(1);
    expect(await fetchedValues(name, 1)).toEqual(["new-0", "old-late"]);
  });

  it("continues offsets densely after retention removed every record", async () => {
    const name = uniqueTopic("ageall");
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    const old = Date.now() - HOUR;
    await produced(name, [
      { value: "a", timestamp: old },
      { value: "b", timestamp: old },
    ]);
    await produced(name, [{ value: "c", timestamp: old }]);
    await runRetention(topic);
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 3, highWatermark: 3, sizeBytes: 0 });
    expect(await fetchedValues(name, 3)).toEqual([]);
    await expectError(await fetchRecords(name, 0, "offset=2"), 400, "OFFSET_OUT_OF_RANGE");
    expect(await produced(name, [{ value: "d" }, { value: "e" }])).toEqual([
      { partition: 0, offset: 3 },
      { partition: 0, offset: 4 },
    ]);
    expect(await fetchedValues(name, 3)).toEqual(["d", "e"]);
    expect(await offsetAt(name, "earliest")).toBe(3);
  });

  it("keeps everything with retention.ms -1, and schedules no alarm for it", async () => {
    const name = uniqueTopic("forever");
    const topic = await createTopic(name, 1, { "retention.ms": -1 });
    await produced(name, [{ value: "epoch", timestamp: 0 }]);
    await produced(name, [{ value: "ancient", timestamp: 1 }]);
    expect(await alarmAt(topic)).toBeNull();
    await runRetention(topic);
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 0, highWatermark: 2 });
    expect(await fetchedValues(name, 0)).toEqual(["epoch", "ancient"]);
  });

  it("schedules an alarm when a batch is appended, for when its oldest batch expires", async () => {
    const name = uniqueTopic("armed");
    const topic = await createTopic(name, 1, { "retention.ms": 2 * HOUR });
    expect(await alarmAt(topic)).toBeNull();
    const timestamp = Date.now() - 1000;
    await produced(name, [{ value: "x", timestamp }]);
    expect(await alarmAt(topic)).toBe(timestamp + 2 * HOUR + 1);
    // A later batch does not move it later.
    await produced(name, [{ value: "y" }]);
    expect(await alarmAt(topic)).toBe(timestamp + 2 * HOUR + 1);
  });

  it("reschedules retention when retention.ms is lowered, instead of waiting for the old deadline", async () => {
    const name = uniqueTopic("lowered");
    const topic = await createTopic(name, 1);
    await produced(name, [{ value: "hour-old", timestamp: Date.now() - HOUR }]);
    await produced(name, [{ value: "fresh" }]);
    expect(await alarmAt(topic)).toBeGreaterThan(Date.now() + 24 * HOUR);
    const res = await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": 60_000 } } });
    expect(res.status).toBe(200);
    // Due now: either the alarm already ran or it is scheduled no later than now.
    const due = await alarmAt(topic);
    if (due !== null) expect(due).toBeLessThanOrEqual(Date.now() + 60_001);
    await runRetention(topic);
    expect(await offsetAt(name, "earliest")).toBe(1);
  });

  it("schedules retention for a batch appended to a log retention emptied, even while idempotency keys hold a later alarm", async () => {
    const name = uniqueTopic("emptied");
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    await produced(name, [{ value: "old", timestamp: Date.now() - HOUR }], { "idempotency-key": "keep-me-a-day" });
    await runRetention(topic);
    expect(await offsetAt(name, "earliest")).toBe(1);
    // The idempotency key keeps an alarm a day away; the new batch expires in a minute.
    await produced(name, [{ value: "new" }]);
    const due = await alarmAt(topic);
    expect(due).not.toBeNull();
    expect(due).toBeLessThanOrEqual(Date.now() + 60_001);
  });
});

describe("retention.bytes", () => {
  it("trims the log from the oldest batch while at least retention.bytes remain", async () => {
    const name = uniqueTopic("bytes");
    const limit = 1500;
    const topic = await createTopic(name, 1, { "retention.bytes": limit });
    for (let i = 0; i < 8; i++) await produced(name, [{ value: `${i}:${"b".repeat(100 + i * 40)}` }]);
    // The batches' sizes, from the stored bytes.
    const all = new Uint8Array(await (await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0`)).arrayBuffer());
    const sizes = splitBatches(all).map((b) => b.header.size);
    expect(sizes).toHaveLength(8);
    let size = sizes.reduce((a, b) => a + b, 0);
    expect((await describeTopic(name)).partitions[0].sizeBytes).toBe(size);
    // Kafka's rule: drop the oldest while what remains without it is still >= the limit.
    let start = 0;
    while (size - sizes[start] >= limit) size -= sizes[start++];
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThan(8);

    expect(await alarmAt(topic)).not.toBeNull();
    await runRetention(topic);
    const after = (await describeTopic(name)).partitions[0];
    expect(after).toMatchObject({ logStartOffset: start, highWatermark: 8, sizeBytes: size });
    expect(after.sizeBytes).toBeGreaterThanOrEqual(limit);
    expect(after.sizeBytes - sizes[start]).toBeLessThan(limit);
    expect((await fetchedValues(name, start)).map((v) => String(v).split(":")[0])).toEqual(
      Array.from({ length: 8 - start }, (_, i) => String(start + i)),
    );
    await expectError(await fetchRecords(name, 0, `offset=${start - 1}`), 400, "OFFSET_OUT_OF_RANGE");
    expect(await offsetAt(name, "earliest")).toBe(start);
    // Appends continue densely after the trim.
    expect(await produced(name, [{ value: "next" }])).toEqual([{ partition: 0, offset: 8 }]);
  });

  it("never deletes the only batch, even when it alone is larger than retention.bytes", async () => {
    const name = uniqueTopic("bytesone");
    const topic = await createTopic(name, 1, { "retention.bytes": 10 });
    await produced(name, [{ value: "z".repeat(500) }]);
    await runRetention(topic);
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 0, highWatermark: 1 });
    await produced(name, [{ value: "later" }]);
    await runRetention(topic);
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 1, highWatermark: 2 });
  });
});
