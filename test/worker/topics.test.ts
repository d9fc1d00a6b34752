/**
 * Topic administration over HTTP (create, list, describe, grow, alter config, delete) and
 * producer ids, against the real controller and partition objects.
 */
import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encodeBatch, readBatchHeader } from "../../protocol/record-batch";
import { DEFAULT_REGIONS, replicaName } from "../../worker/controller/placement";
import type { TopicConfig } from "../../worker/controller/topic-config";
import type { Partition } from "../../worker/partition/partition-do";
import { api, createTopic, describeTopic, expectError, fetchRecords, produce, uniqueTopic, type TopicDescription } from "./helpers";

const KAFKA_DEFAULT_CONFIG = {
  "retention.ms": 604_800_000,
  "retention.bytes": -1,
  "max.message.bytes": 1_048_588,
  "cleanup.policy": "delete",
  "min.cleanable.dirty.ratio": 0.5,
  "min.compaction.lag.ms": 0,
  "max.compaction.lag.ms": Number.MAX_SAFE_INTEGER,
  "delete.retention.ms": 86_400_000,
  "min.insync.replicas": 1,
  "replica.lag.time.max.ms": 30_000,
  "unclean.leader.election.enable": false,
};

function partitionStub(topicId: string, partition: number, replica: number) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topicId, partition, replica)));
}

async function listTopicNames(): Promise<string[]> {
  const res = await api("/v1/topics");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { topics: { name: string }[] };
  return body.topics.map((t) => t.name);
}

/** Tables and alarm of one partition replica object, read inside the object. */
function objectStorage(topicId: string, partition: number, replica: number) {
  return runInDurableObject(partitionStub(topicId, partition, replica), async (_instance: Partition, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => r.name);
    return { tables, alarm: await state.storage.getAlarm() };
  });
}

async function postCreate(body: unknown): Promise<Response> {
  return api("/v1/topics", { method: "POST", json: body });
}

describe("create", () => {
  it("a new topic answers 201 with its id, every partition empty and in sync at epoch 0, and Kafka's default config", async () => {
    const name = uniqueTopic("create");
    const objectsBefore = (await listDurableObjectIds(env.PARTITION)).length;
    const res = await postCreate({ name, partitions: 3 });
    expect(res.status).toBe(201);
    // One partition object per replica (the count refused creates are checked against).
    expect((await listDurableObjectIds(env.PARTITION)).length).toBe(objectsBefore + 3);
    const topic = (await res.json()) as TopicDescription;
    expect(topic.name).toBe(name);
    expect(topic.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(topic.replicationFactor).toBe(1);
    expect(topic.config).toEqual(KAFKA_DEFAULT_CONFIG);
    expect(topic.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of topic.partitions) {
      expect(p).toMatchObject({ leaderEpoch: 0, logStartOffset: 0, highWatermark: 0 });
      expect(p.replicas).toHaveLength(1);
      expect(p.replicas).toContain(p.leader);
      expect(p.isr).toEqual(p.replicas);
      expect(p.regions).toHaveLength(p.replicas.length);
      for (const [i, region] of p.regions.entries()) expect(region).toBe(DEFAULT_REGIONS[p.replicas[i] % DEFAULT_REGIONS.length]);
    }
  });

  it("describe answers the same description as create, and partitions default to 1", async () => {
    const name = uniqueTopic("describe");
    const created = await createTopic(name);
    expect(created.partitions).toHaveLength(1);
    expect(await describeTopic(name)).toEqual(created);
  });

  it("list shows every topic with its id, partition count and replication factor, sorted by name", async () => {
    const b = uniqueTopic("list-b");
    const a = uniqueTopic("list-a");
    const tb = await createTopic(b, 2);
    const ta = await createTopic(a, 1);
    const res = await api("/v1/topics");
    expect(res.status).toBe(200);
    const { topics } = (await res.json()) as { topics: { name: string; topicId: string; partitions: number; replicationFactor: number }[] };
    expect(topics).toContainEqual({ name: a, topicId: ta.topicId, partitions: 1, replicationFactor: 1 });
    expect(topics).toContainEqual({ name: b, topicId: tb.topicId, partitions: 2, replicationFactor: 1 });
    const names = topics.map((t) => t.name);
    expect(names).toEqual([...names].sort());
  });

  it("describing an unknown topic is 404 UNKNOWN_TOPIC_OR_PARTITION", async () => {
    await expectError(await api(`/v1/topics/${uniqueTopic("nope")}`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("creating an existing name is 409 TOPIC_ALREADY_EXISTS and leaves the first topic, its id and its records as they were", async () => {
    const name = uniqueTopic("dup");
    const first = await createTopic(name, 2);
    expect((await produce(name, [{ value: "a", partition: 1 }])).status).toBe(200);
    await expectError(await postCreate({ name, partitions: 5 }), 409, "TOPIC_ALREADY_EXISTS");
    const after = await describeTopic(name);
    expect(after.topicId).toBe(first.topicId);
    expect(after.partitions.map((p) => p.highWatermark)).toEqual([0, 1]);
  });

  it("of concurrent creates under one name exactly one wins (201) and the others are 409, all seeing the winner's id", async () => {
    const name = uniqueTopic("race");
    const answers = await Promise.all([1, 2, 3, 4, 5].map((partitions) => postCreate({ name, partitions })));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    const winner = (await answers.find((r) => r.status === 201)!.json()) as TopicDescription;
    const described = await describeTopic(name);
    expect(described.topicId).toBe(winner.topicId);
    expect(described.partitions).toHaveLength(winner.partitions.length);
    expect((await listTopicNames()).filter((n) => n === name)).toHaveLength(1);
  });

  it("config given at create is validated, merged over the defaults, and accepts Kafka's decimal strings", async () => {
    const name = uniqueTopic("cfg");
    const topic = await createTopic(name, 1, { "retention.ms": "3600000", "max.message.bytes": 5000 });
    expect(topic.config).toEqual({ ...KAFKA_DEFAULT_CONFIG, "retention.ms": 3_600_000, "max.message.bytes": 5000 });
  });
});

describe("topic names follow Kafka's rules", () => {
  it.each([
    ["a 249-character name", "n".repeat(249)],
    ["letters, digits, dot, underscore and dash", "Sensor.readings_v1-EU"],
    ["three dots (only . and .. are reserved)", "..."],
  ])("%s is accepted", async (_title, name) => {
    const created = await createTopic(name);
    expect(created.name).toBe(name);
    expect((await describeTopic(name)).topicId).toBe(created.topicId);
  });

  it.each([
    ["an empty name", ""],
    ['"."', "."],
    ['".."', ".."],
    ["a 250-character name", "m".repeat(250)],
    ["a slash", "a/b"],
    ["a space", "a b"],
    ["a colon", "a:b"],
    ["non-ASCII letters", "caf\u00e9"],
    ["a number instead of a string", 42],
    ["null", null],
    ["a missing name", undefined],
  ])("%s is refused with 400 INVALID_TOPIC_EXCEPTION and creates nothing", async (_title, name) => {
    const before = await listTopicNames();
    const body = name === undefined ? { partitions: 1 } : { name, partitions: 1 };
    await expectError(await postCreate(body), 400, "INVALID_TOPIC_EXCEPTION");
    expect(await listTopicNames()).toEqual(before);
  });
});

describe("refused creates create nothing", () => {
  it.each([
    ["partitions 0", { partitions: 0 }, "INVALID_PARTITIONS"],
    ["partitions -1", { partitions: -1 }, "INVALID_PARTITIONS"],
    ["partitions 1.5", { partitions: 1.5 }, "INVALID_PARTITIONS"],
    ['partitions "2"', { partitions: "2" }, "INVALID_PARTITIONS"],
    ["partitions true", { partitions: true }, "INVALID_PARTITIONS"],
    ["partitions above the 1000 limit", { partitions: 1001 }, "INVALID_PARTITIONS"],
    ["partitions null", { partitions: null }, "INVALID_PARTITIONS"],
    ["replicationFactor null", { replicationFactor: null }, "INVALID_REPLICATION_FACTOR"],
    ["replicationFactor 0", { replicationFactor: 0 }, "INVALID_REPLICATION_FACTOR"],
    ['replicationFactor "1"', { replicationFactor: "1" }, "INVALID_REPLICATION_FACTOR"],
    ["an unknown config key", { config: { "segment.ms": 1000 } }, "INVALID_CONFIG"],
    ['a config key named like an Object method ("toString")', { config: { toString: 1 } }, "INVALID_CONFIG"],
    ['a config key "constructor"', { config: { constructor: 1 } }, "INVALID_CONFIG"],
    ['a config key "hasOwnProperty"', { config: { hasOwnProperty: 1 } }, "INVALID_CONFIG"],
    ['a config key "__proto__"', { config: JSON.parse('{"__proto__": 1}') }, "INVALID_CONFIG"],
    ["retention.ms below -1", { config: { "retention.ms": -2 } }, "INVALID_CONFIG"],
    ["retention.ms not a number", { config: { "retention.ms": "a week" } }, "INVALID_CONFIG"],
    ["retention.bytes a float", { config: { "retention.bytes": 1.5 } }, "INVALID_CONFIG"],
    ["max.message.bytes above a SQLite row", { config: { "max.message.bytes": 3_000_000 } }, "INVALID_CONFIG"],
    ["min.insync.replicas 0", { config: { "min.insync.replicas": 0 } }, "INVALID_CONFIG"],
    ["cleanup.policy unknown", { config: { "cleanup.policy": "archive" } }, "INVALID_CONFIG"],
    ["min.cleanable.dirty.ratio above 1", { config: { "min.cleanable.dirty.ratio": 1.5 } }, "INVALID_CONFIG"],
    ["min.cleanable.dirty.ratio not a number", { config: { "min.cleanable.dirty.ratio": "half" } }, "INVALID_CONFIG"],
    ["max.compaction.lag.ms 0", { config: { "max.compaction.lag.ms": 0 } }, "INVALID_CONFIG"],
    ["delete.retention.ms negative", { config: { "delete.retention.ms": -1 } }, "INVALID_CONFIG"],
    ["config an array", { config: [] }, "INVALID_CONFIG"],
    ["config a string", { config: "retention.ms=1" }, "INVALID_CONFIG"],
    ["an unknown body field", { replicas: 3 }, "INVALID_REQUEST"],
  ])("%s (%j) is 400 %s, and neither list nor describe shows the topic", async (_title, extra, code) => {
    const name = uniqueTopic("refused");
    const before = await listTopicNames();
    const objectsBefore = (await listDurableObjectIds(env.PARTITION)).length;
    await expectError(await postCreate({ name, ...extra }), 400, code);
    expect(await listTopicNames()).toEqual(before);
    expect((await listDurableObjectIds(env.PARTITION)).length).toBe(objectsBefore);
    await expectError(await api(`/v1/topics/${name}`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("a replicationFactor above the regions available (six by default) is 400 INVALID_REPLICATION_FACTOR saying so", async () => {
    const name = uniqueTopic("rf");
    for (const replicationFactor of [7, 100]) {
      const error = await expectError(await postCreate({ name, partitions: 1, replicationFactor }), 400, "INVALID_REPLICATION_FACTOR");
      expect(error.message).toMatch(/larger than the 6 regions available/);
    }
    expect(await listTopicNames()).not.toContain(name);
  });
});

describe("add partitions", () => {
  it("growing a topic adds empty, usable partitions and keeps the old ones' records", async () => {
    const name = uniqueTopic("grow");
    const created = await createTopic(name, 1);
    expect((await produce(name, [{ value: "old", partition: 0 }])).status).toBe(200);

    const res = await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count: 3 } });
    expect(res.status).toBe(200);
    const grown = (await res.json()) as TopicDescription;
    expect(grown.topicId).toBe(created.topicId);
    expect(grown.partitions.map((p) => [p.partition, p.highWatermark, p.leaderEpoch])).toEqual([
      [0, 1, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
    expect(await describeTopic(name)).toEqual(grown);

    const produced = await produce(name, [{ value: "new", partition: 2 }]);
    expect(produced.status).toBe(200);
    expect(await produced.json()).toEqual({ offsets: [{ partition: 2, offset: 0 }] });
    const fetched = await fetchRecords(name, 2, "offset=0");
    expect(fetched.status).toBe(200);
    const body = (await fetched.json()) as { records: { offset: number; value: unknown }[]; highWatermark: number };
    expect(body.records.map((r) => [r.offset, r.value])).toEqual([[0, "new"]]);
    expect(body.highWatermark).toBe(1);

    const list = (await (await api("/v1/topics")).json()) as { topics: { name: string; partitions: number }[] };
    expect(list.topics.find((t) => t.name === name)?.partitions).toBe(3);
  });

  it("concurrent grows end at the largest count asked for, every partition usable", async () => {
    const name = uniqueTopic("grow-race");
    await createTopic(name, 1);
    const answers = await Promise.all([3, 4, 2].map((count) => api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count } })));
    for (const res of answers) expect([200, 400]).toContain(res.status);
    const after = await describeTopic(name);
    expect(after.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    for (const p of after.partitions) {
      const res = await produce(name, [{ value: `p${p.partition}`, partition: p.partition }]);
      expect(await res.json()).toEqual({ offsets: [{ partition: p.partition, offset: 0 }] });
    }
  });

  it.each([
    ["the same count", 2],
    ["fewer partitions", 1],
    ["zero", 0],
    ["a float", 2.5],
    ["a string", "3"],
    ["more than 1000", 1001],
  ])("asking for %s is 400 INVALID_PARTITIONS and the partition count stays", async (_title, count) => {
    const name = uniqueTopic("shrink");
    await createTopic(name, 2);
    await expectError(await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count } }), 400, "INVALID_PARTITIONS");
    expect((await describeTopic(name)).partitions).toHaveLength(2);
  });

  it("growing an unknown topic is 404, and an unknown body field is 400 INVALID_REQUEST", async () => {
    await expectError(
      await api(`/v1/topics/${uniqueTopic("ghost")}/partitions`, { method: "POST", json: { count: 2 } }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
    const name = uniqueTopic("grow-field");
    await createTopic(name, 1);
    await expectError(
      await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count: 2, assignments: [] } }),
      400,
      "INVALID_REQUEST",
    );
    expect((await describeTopic(name)).partitions).toHaveLength(1);
  });

  it("a record for a partition beyond the count is refused until the topic is grown", async () => {
    const name = uniqueTopic("grow-late");
    await createTopic(name, 1);
    await expectError(await produce(name, [{ value: "x", partition: 1 }]), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    expect((await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count: 2 } })).status).toBe(200);
    const res = await produce(name, [{ value: "x", partition: 1 }]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ offsets: [{ partition: 1, offset: 0 }] });
  });
});

describe("alter config", () => {
  it("a lowered max.message.bytes is enforced on produce (413 MESSAGE_TOO_LARGE) and nothing is appended", async () => {
    const name = uniqueTopic("alter");
    await createTopic(name, 1);
    expect((await produce(name, [{ value: "x".repeat(500) }])).status).toBe(200);

    const res = await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "max.message.bytes": 300 } } });
    expect(res.status).toBe(200);
    const altered = (await res.json()) as TopicDescription;
    expect(altered.config).toEqual({ ...KAFKA_DEFAULT_CONFIG, "max.message.bytes": 300 });
    expect((await describeTopic(name)).config).toEqual(altered.config);

    await expectError(await produce(name, [{ value: "x".repeat(500) }]), 413, "MESSAGE_TOO_LARGE");
    expect((await describeTopic(name)).partitions[0].highWatermark).toBe(1);
    // Small records still go through.
    expect(await (await produce(name, [{ value: "small" }])).json()).toEqual({ offsets: [{ partition: 0, offset: 1 }] });
  });

  it("a config change reaches every partition object, which enforces it itself", async () => {
    const name = uniqueTopic("alter-reach");
    const topic = await createTopic(name, 2);
    expect((await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "max.message.bytes": 200 } } })).status).toBe(200);
    const bytes = await encodeBatch([{ key: null, value: new TextEncoder().encode("y".repeat(400)), headers: [] }]);
    for (const p of topic.partitions) {
      const outcome = await runInDurableObject(partitionStub(topic.topicId, p.partition, p.leader), (instance: Partition) =>
        instance.append({ batches: [{ header: readBatchHeader(bytes), bytes: bytes.slice() }], acks: 1 }),
      );
      expect(outcome).toMatchObject({ ok: false, code: "MESSAGE_TOO_LARGE" });
    }
    expect((await describeTopic(name)).partitions.map((p) => p.highWatermark)).toEqual([0, 0]);
  });

  it("changes merge: keys not named keep their value", async () => {
    const name = uniqueTopic("alter-merge");
    await createTopic(name, 1, { "retention.bytes": 10_000 });
    const res = await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": "60000" } } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as TopicDescription).config).toEqual({
      ...KAFKA_DEFAULT_CONFIG,
      "retention.bytes": 10_000,
      "retention.ms": 60_000,
    });
  });

  it.each([
    ["an unknown key", { config: { "compression.type": "gzip" } }, "INVALID_CONFIG"],
    ['a key named like an Object method ("toString")', { config: { toString: "x" } }, "INVALID_CONFIG"],
    ['the key "__proto__"', { config: JSON.parse('{"__proto__": {"max.message.bytes": 1}}') }, "INVALID_CONFIG"],
    ["a bad value", { config: { "max.message.bytes": -5 } }, "INVALID_CONFIG"],
    ["an unknown policy", { config: { "cleanup.policy": "compact,archive" } }, "INVALID_CONFIG"],
    ["config not an object", { config: 5 }, "INVALID_CONFIG"],
    ["config missing", {}, "INVALID_CONFIG"],
    ["an unknown body field", { config: {}, validateOnly: true }, "INVALID_REQUEST"],
  ])("%s (%j) is 400 %s and the config stays as it was", async (_title, body, code) => {
    const name = uniqueTopic("alter-bad");
    const before = await createTopic(name, 1, { "retention.ms": 1000 });
    await expectError(await api(`/v1/topics/${name}/config`, { method: "PATCH", json: body }), 400, code);
    expect((await describeTopic(name)).config).toEqual(before.config);
  });

  it("a config change with one bad value applies none of its values", async () => {
    const name = uniqueTopic("alter-atomic");
    await createTopic(name, 1);
    await expectError(
      await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": 5000, "max.message.bytes": "lots" } } }),
      400,
      "INVALID_CONFIG",
    );
    expect((await describeTopic(name)).config).toEqual(KAFKA_DEFAULT_CONFIG);
  });

  it("altering an unknown topic is 404 UNKNOWN_TOPIC_OR_PARTITION", async () => {
    await expectError(
      await api(`/v1/topics/${uniqueTopic("ghost")}/config`, { method: "PATCH", json: { config: { "retention.ms": 1 } } }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });
});

describe("delete", () => {
  it("a deleted topic is 404 for describe, produce, fetch, grow and config, and gone from the list", async () => {
    const name = uniqueTopic("del");
    const topic = await createTopic(name, 2);
    expect((await produce(name, [{ value: "a", partition: 0 }])).status).toBe(200);

    const res = await api(`/v1/topics/${name}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name, topicId: topic.topicId, deleted: true });

    await expectError(await api(`/v1/topics/${name}`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectError(await produce(name, [{ value: "b" }]), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectError(await fetchRecords(name, 0, "offset=0"), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectError(await api(`/v1/topics/${name}/partitions/0/batches?offset=0`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectError(
      await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count: 3 } }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
    await expectError(await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: {} } }), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    expect(await listTopicNames()).not.toContain(name);
  });

  it("deleting wipes every partition object's tables and alarm", async () => {
    const name = uniqueTopic("wipe");
    const topic = await createTopic(name, 3);
    // An idempotency key and records give every object tables, rows and a pending alarm.
    for (const p of topic.partitions) {
      const res = await api(`/v1/topics/${name}/records`, {
        method: "POST",
        headers: { "idempotency-key": `wipe-${p.partition}` },
        json: { records: [{ value: "v", partition: p.partition }] },
      });
      expect(res.status).toBe(200);
    }
    for (const p of topic.partitions) {
      for (const replica of p.replicas) {
        const before = await objectStorage(topic.topicId, p.partition, replica);
        expect(before.tables).toContain("batches");
        expect(before.alarm).not.toBeNull();
      }
    }

    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);

    for (const p of topic.partitions) {
      for (const replica of p.replicas) {
        expect(await objectStorage(topic.topicId, p.partition, replica)).toEqual({ tables: [], alarm: null });
      }
    }
  });

  it("a stale request reaching a deleted topic's partition object is refused as unknown and recreates no storage", async () => {
    const name = uniqueTopic("stale");
    const topic = await createTopic(name, 1);
    expect((await produce(name, [{ value: "a" }])).status).toBe(200);
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);

    const bytes = await encodeBatch([{ key: null, value: new TextEncoder().encode("late"), headers: [] }]);
    const outcomes = await runInDurableObject(partitionStub(topic.topicId, 0, topic.partitions[0].leader), async (instance: Partition) => [
      await instance.append({ batches: [{ header: readBatchHeader(bytes), bytes }], acks: 1 }),
      await instance.read({ offset: 0, maxBytes: 1024, maxRecords: 10, maxWaitMs: 0, minBytes: 1 }),
      await instance.status(),
      await instance.configure(topic.config as unknown as TopicConfig, 99),
    ]);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, code: "UNKNOWN_TOPIC_OR_PARTITION" });
    expect(await objectStorage(topic.topicId, 0, topic.partitions[0].leader)).toEqual({ tables: [], alarm: null });
  });

  it("deleting an unknown topic, or the same topic twice, is 404 UNKNOWN_TOPIC_OR_PARTITION", async () => {
    await expectError(await api(`/v1/topics/${uniqueTopic("ghost")}`, { method: "DELETE" }), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    const name = uniqueTopic("twice");
    await createTopic(name);
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);
    await expectError(await api(`/v1/topics/${name}`, { method: "DELETE" }), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("a topic created again under a deleted name gets a new topicId and starts empty, with no old offsets", async () => {
    const name = uniqueTopic("reborn");
    const old = await createTopic(name, 2);
    for (const partition of [0, 1]) {
      const res = await produce(
        name,
        [1, 2, 3].map((n) => ({ value: n, partition })),
      );
      expect(res.status).toBe(200);
    }
    expect((await describeTopic(name)).partitions.map((p) => p.highWatermark)).toEqual([3, 3]);
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);

    const reborn = await createTopic(name, 2);
    expect(reborn.topicId).not.toBe(old.topicId);
    expect(reborn.partitions.map((p) => [p.logStartOffset, p.highWatermark])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    for (const partition of [0, 1]) {
      const res = await fetchRecords(name, partition, "offset=0");
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ records: [], highWatermark: 0, logStartOffset: 0 });
      await expectError(await fetchRecords(name, partition, "offset=3"), 400, "OFFSET_OUT_OF_RANGE");
    }
    const produced = await produce(name, [{ value: "fresh", partition: 1 }]);
    expect(await produced.json()).toEqual({ offsets: [{ partition: 1, offset: 0 }] });
    const fetched = (await (await fetchRecords(name, 1, "offset=0")).json()) as { records: { value: unknown }[] };
    expect(fetched.records.map((r) => r.value)).toEqual(["fresh"]);
    // The old topic's objects stay wiped: the new topic does not reuse them.
    expect(await objectStorage(old.topicId, 1, old.partitions[1].replicas[0])).toEqual({ tables: [], alarm: null });
  });
});

describe("producer ids", () => {
  it("each call without a transactionalId gets a distinct producer id at epoch 0", async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const res = await api("/v1/producers", { method: "POST" });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { producerId: number; producerEpoch: number };
      expect(body.producerEpoch).toBe(0);
      expect(Number.isSafeInteger(body.producerId) && body.producerId >= 0).toBe(true);
      ids.add(body.producerId);
    }
    expect(ids.size).toBe(3);
    // An empty JSON object is the same as no body.
    const res = await api("/v1/producers", { method: "POST", json: {} });
    expect(((await res.json()) as { producerEpoch: number }).producerEpoch).toBe(0);
  });

  it("the same transactionalId gets the same producer id back with its epoch bumped each time", async () => {
    const transactionalId = uniqueTopic("txn");
    const call = async (id: string) => {
      const res = await api("/v1/producers", { method: "POST", json: { transactionalId: id } });
      expect(res.status).toBe(200);
      return (await res.json()) as { producerId: number; producerEpoch: number };
    };
    const first = await call(transactionalId);
    const second = await call(transactionalId);
    const third = await call(transactionalId);
    expect(second).toEqual({ producerId: first.producerId, producerEpoch: first.producerEpoch + 1 });
    expect(third).toEqual({ producerId: first.producerId, producerEpoch: first.producerEpoch + 2 });
    const other = await call(`${transactionalId}-other`);
    expect(other.producerId).not.toBe(first.producerId);
  });

  it("concurrent calls get distinct producer ids, and concurrent calls with one transactionalId get distinct epochs of one id", async () => {
    const plain = await Promise.all(
      Array.from({ length: 8 }, () => api("/v1/producers", { method: "POST" }).then((r) => r.json() as Promise<{ producerId: number }>)),
    );
    expect(new Set(plain.map((p) => p.producerId)).size).toBe(8);
    const transactionalId = uniqueTopic("txn-race");
    const same = await Promise.all(
      Array.from({ length: 5 }, () =>
        api("/v1/producers", { method: "POST", json: { transactionalId } }).then(
          (r) => r.json() as Promise<{ producerId: number; producerEpoch: number }>,
        ),
      ),
    );
    expect(new Set(same.map((p) => p.producerId)).size).toBe(1);
    expect(same.map((p) => p.producerEpoch).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  });

  it.each([
    ["an empty transactionalId", { transactionalId: "" }],
    ["a numeric transactionalId", { transactionalId: 7 }],
    ["a transactionalId over 255 characters", { transactionalId: "t".repeat(256) }],
    ["an unknown field", { producerId: 1 }],
  ])("%s is 400 INVALID_REQUEST", async (_title, body) => {
    await expectError(await api("/v1/producers", { method: "POST", json: body }), 400, "INVALID_REQUEST");
  });
});
