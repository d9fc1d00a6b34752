/**
 * What a partition object keeps in memory is only a cache of SQLite: after every object is
 * reset (abortAllDurableObjects), the high watermark, the log start offset, the records, producer
 * sequences, idempotency keys and the next offset are all rebuilt, and a fetch parked at the reset
 * still answers instead of hanging. Reads stay bounded however long the log.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, splitBatches } from "../../protocol/record-batch";
import { replicaName } from "../../worker/controller/placement";
import { api, BASE, createTopic, describeTopic, expectError, fetchRecords, uniqueTopic, type TopicDescription } from "./helpers";

const MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";
const encoder = new TextEncoder();
const HOUR = 3_600_000;

function leaderStub(topic: TopicDescription, partition = 0) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topic.topicId, partition, topic.partitions[partition].leader)));
}

async function produced(topic: string, records: unknown[], headers: Record<string, string> = {}) {
  const res = await api(`/v1/topics/${topic}/records`, { method: "POST", headers, json: { records } });
  const body = (await res.json()) as { offsets: { partition: number; offset: number }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.offsets;
}

function postBatches(topic: string, partition: number, body: Uint8Array, query = ""): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches${query}`, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE },
    body: body.slice(),
  });
}

async function appended(topic: string, partition: number, body: Uint8Array) {
  const res = await postBatches(topic, partition, body);
  const json = (await res.json()) as {
    baseOffset: number;
    lastOffset: number;
    batches: { baseOffset: number; lastOffset: number; duplicate: boolean }[];
  };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

async function records(topic: string, partition: number, offset = 0) {
  const res = await fetchRecords(topic, partition, `offset=${offset}&maxRecords=10000`);
  const body = (await res.json()) as {
    records: { offset: number; value: unknown; key: string | null }[];
    highWatermark: number;
    logStartOffset: number;
  };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

describe("state rebuilt from SQLite after every object is reset", () => {
  it("keeps the high watermark, records, producer sequences, idempotency keys and the next offset", async () => {
    const name = uniqueTopic("durable");
    const topic = await createTopic(name, 2);
    await produced(name, [
      { value: "a", partition: 0 },
      { value: { n: 1 }, partition: 0 },
      { key: "k", value: "b", partition: 1 },
    ]);
    const res = await api("/v1/producers", { method: "POST" });
    const producer = (await res.json()) as { producerId: number; producerEpoch: number };
    const batch0 = await encodeBatch(
      [
        { key: null, value: encoder.encode("idem-0") },
        { key: null, value: encoder.encode("idem-1") },
      ],
      { ...producer, baseSequence: 0 },
    );
    expect((await appended(name, 0, batch0)).batches).toEqual([{ baseOffset: 2, lastOffset: 3, duplicate: false }]);
    const keyedRecords = [{ value: "once-a" }, { key: "kk", value: "once-b" }];
    const keyed = await produced(name, keyedRecords, { "idempotency-key": "durable-key" });
    const before = await describeTopic(name);

    await abortAllDurableObjects();

    const after = await describeTopic(name);
    expect(after.partitions.map((p) => [p.logStartOffset, p.highWatermark, p.sizeBytes])).toEqual(
      before.partitions.map((p) => [p.logStartOffset, p.highWatermark, p.sizeBytes]),
    );
    expect((await records(name, 0)).records.slice(0, 4).map((r) => r.value)).toEqual(["a", { n: 1 }, "idem-0", "idem-1"]);
    // The producer's retried batch is still recognised, and its next sequence still expected.
    expect((await appended(name, 0, batch0)).batches).toEqual([{ baseOffset: 2, lastOffset: 3, duplicate: true }]);
    const gap = await encodeBatch([{ key: null, value: encoder.encode("gap") }], { ...producer, baseSequence: 5 });
    await expectError(await postBatches(name, 0, gap), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    const hw0 = after.partitions[0].highWatermark;
    const batch1 = await encodeBatch([{ key: null, value: encoder.encode("idem-2") }], { ...producer, baseSequence: 2 });
    expect((await appended(name, 0, batch1)).batches).toEqual([{ baseOffset: hw0, lastOffset: hw0, duplicate: false }]);
    // The idempotency key still answers its first offsets, and still refuses another body.
    expect(await produced(name, keyedRecords, { "idempotency-key": "durable-key" })).toEqual(keyed);
    await expectError(
      await api(`/v1/topics/${name}/records`, {
        method: "POST",
        headers: { "idempotency-key": "durable-key" },
        json: { records: [{ value: "other" }] },
      }),
      400,
      "INVALID_REQUEST",
    );
    const values = [...(await records(name, 0)).records, ...(await records(name, 1)).records].map((r) => r.value);
    expect(values.filter((v) => v === "once-a")).toHaveLength(1);
    expect(values.filter((v) => v === "once-b")).toHaveLength(1);
    // JSON appends continue at the next offset of each partition.
    const hw1 = (await describeTopic(name)).partitions[1].highWatermark;
    expect(
      await produced(name, [
        { value: "next-0", partition: 0 },
        { value: "next-1", partition: 1 },
      ]),
    ).toEqual([
      { partition: 0, offset: hw0 + 1 },
      { partition: 1, offset: hw1 },
    ]);
    expect(topic.topicId).toBe(after.topicId);
  });

  it("keeps the log start offset retention set, the alarm, and dense offsets, also when retention emptied the log", async () => {
    const name = uniqueTopic("durableretention");
    const topic = await createTopic(name, 2, { "retention.ms": 60_000 });
    const old = Date.now() - HOUR;
    await produced(name, [{ value: "old-0", timestamp: old, partition: 0 }]);
    await produced(name, [{ value: "old-1", timestamp: old, partition: 0 }]);
    await produced(name, [{ value: "new-2", partition: 0 }]);
    await produced(name, [{ value: "old-p1", timestamp: old, partition: 1 }]);
    await runDurableObjectAlarm(leaderStub(topic, 0));
    await runDurableObjectAlarm(leaderStub(topic, 1));
    expect((await describeTopic(name)).partitions.map((p) => [p.logStartOffset, p.highWatermark])).toEqual([
      [2, 3],
      [1, 1],
    ]);

    await abortAllDurableObjects();

    expect((await describeTopic(name)).partitions.map((p) => [p.logStartOffset, p.highWatermark])).toEqual([
      [2, 3],
      [1, 1],
    ]);
    await expectError(await fetchRecords(name, 0, "offset=1"), 400, "OFFSET_OUT_OF_RANGE");
    expect((await records(name, 0, 2)).records.map((r) => r.value)).toEqual(["new-2"]);
    expect((await records(name, 1, 1)).records).toEqual([]);
    // The retention alarm for the batch still there survived the reset.
    expect(await runInDurableObject(leaderStub(topic, 0), (_i, state) => state.storage.getAlarm())).not.toBeNull();
    expect(
      await produced(name, [
        { value: "p0", partition: 0 },
        { value: "p1", partition: 1 },
      ]),
    ).toEqual([
      { partition: 0, offset: 3 },
      { partition: 1, offset: 1 },
    ]);
    const p1 = await records(name, 1, 1);
    expect(p1.records.map((r) => [r.offset, r.value])).toEqual([[1, "p1"]]);
    expect(p1.logStartOffset).toBe(1);
  });

  it("keeps a fenced epoch fenced across a reset", async () => {
    const name = uniqueTopic("durablefence");
    await createTopic(name, 1);
    const transactionalId = uniqueTopic("durable-txn");
    const init = async () =>
      (await (await api("/v1/producers", { method: "POST", json: { transactionalId } })).json()) as {
        producerId: number;
        producerEpoch: number;
      };
    const old = await init();
    const fresh = await init();
    await appended(name, 0, await encodeBatch([{ key: null, value: encoder.encode("new") }], { ...fresh, baseSequence: 0 }));
    await abortAllDurableObjects();
    await expectError(
      await postBatches(name, 0, await encodeBatch([{ key: null, value: encoder.encode("zombie") }], { ...old, baseSequence: 0 })),
      409,
      "PRODUCER_FENCED",
    );
    expect((await records(name, 0)).records.map((r) => r.value)).toEqual(["new"]);
  });

  // In production a reset object fails its in-flight calls (a retriable 5xx here). This pool's
  // abortAllDurableObjects() does not: the aborted instance finishes what it was doing, so what
  // can be checked deterministically is that the parked fetch still answers by its maxWaitMs,
  // with a retriable error or with no record it should not have, and never hangs.
  it("answers a fetch parked in long-poll when objects are reset by its maxWaitMs (never hangs), with a retriable 5xx or no wrong record", async () => {
    const name = uniqueTopic("durablepoll");
    await createTopic(name, 1);
    await produced(name, [{ value: "x" }]);
    const parked = fetchRecords(name, 0, "offset=1&maxWaitMs=3000");
    let settled = false;
    void parked.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    await abortAllDurableObjects();
    await produced(name, [{ value: "y" }]);
    const res = await parked;
    const text = await res.text();
    const body = JSON.parse(text) as { error?: { code: string; retriable: boolean }; records?: { offset: number; value: unknown }[] };
    if (res.status >= 500) expect(body.error?.retriable, text).toBe(true);
    else {
      expect(res.status, text).toBe(200);
      for (const r of body.records ?? []) expect([r.offset, r.value]).toEqual([1, "y"]);
    }
    // The partition answers again afterwards, with nothing lost.
    expect((await records(name, 0)).records.map((r) => r.value)).toEqual(["x", "y"]);
  }, 8_000);
});

describe("bounded reads", () => {
  it("reads only up to maxBytes from a partition with many batches (the answer's size is bounded, not the log's)", async () => {
    const name = uniqueTopic("flat");
    await createTopic(name, 1);
    const value = encoder.encode("m".repeat(1000));
    const one = await encodeBatch([{ key: null, value }]);
    const count = 1300;
    // Two requests: a binary produce takes at most 1,000 batches.
    for (const [from, to] of [
      [0, 650],
      [650, count],
    ]) {
      const body = new Uint8Array(one.length * (to - from));
      for (let i = 0; i < to - from; i++) body.set(one, i * one.length);
      expect((await appended(name, 0, body)).lastOffset).toBe(to - 1);
    }
    const logBytes = one.length * count;
    expect(logBytes).toBeGreaterThan(1024 * 1024);

    for (const maxBytes of [1, 5_000, 64 * 1024]) {
      const res = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0&maxRecords=10000&maxBytes=${maxBytes}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      // Whole batches only: as many as fit, and at least the first.
      expect(bytes.length).toBe(Math.max(1, Math.floor(maxBytes / one.length)) * one.length);
      expect(Number(res.headers.get("edgelog-next-offset"))).toBe(bytes.length / one.length);
    }
    // Without maxBytes, the default (1 MiB, Kafka's max.partition.fetch.bytes) bounds the answer.
    const all = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0&maxRecords=10000`);
    const allBytes = new Uint8Array(await all.arrayBuffer());
    expect(allBytes.length).toBeLessThanOrEqual(1024 * 1024);
    expect(allBytes.length).toBeGreaterThan(1024 * 1024 - one.length);
    expect(allBytes.length).toBeLessThan(logBytes);
    const decoded = await decodeRecords(splitBatches(allBytes).at(-1)!.bytes);
    expect(decoded[0].offset).toBe(allBytes.length / one.length - 1);
    // The JSON fetch is bounded the same way.
    const json = await fetchRecords(name, 0, "offset=0&maxRecords=10000&maxBytes=5000");
    expect(((await json.json()) as { records: unknown[] }).records).toHaveLength(Math.floor(5000 / one.length));
  });
});
