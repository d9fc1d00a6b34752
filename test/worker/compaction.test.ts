/**
 * Log compaction (cleanup.policy compact / compact,delete), run by the leader's alarm: the latest
 * record of each key stays at its offset, tombstones go after delete.retention.ms, and every read
 * path steps over the gaps it leaves. Passes are started with runDurableObjectAlarm.
 */
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, splitBatches } from "../../protocol/record-batch";
import { replicaName } from "../../worker/controller/placement";
import { api, BASE, createTopic, expectError, fetchRecords, uniqueTopic, type TopicDescription } from "./helpers";
import { createReplicated, eventually, initProducer, MEDIA_TYPE, postBatch, replica } from "./replication-helpers";
import { openSocket } from "./socket";

const encoder = new TextEncoder();
const COMPACT = { "cleanup.policy": "compact", "min.cleanable.dirty.ratio": 0.01 };

interface Rec {
  offset: number;
  key: string | null;
  value: unknown;
  timestamp: number;
}

function leaderStub(topic: TopicDescription, partition = 0) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topic.topicId, partition, topic.partitions[partition].leader)));
}

/** Produces one batch (one request) to partition 0; answers the offsets. */
async function produced(topic: string, records: { key: string | null; value: unknown; timestamp?: number }[]): Promise<number[]> {
  const res = await api(`/v1/topics/${topic}/records`, { method: "POST", json: { records: records.map((r) => ({ ...r, partition: 0 })) } });
  const body = (await res.json()) as { offsets: { offset: number }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.offsets.map((o) => o.offset);
}

/** Every record from `offset` on, read page by page (maxRecords) through the JSON fetch's nextOffset. */
async function readAll(
  topic: string,
  offset = 0,
  maxRecords = 10_000,
): Promise<{ records: Rec[]; nextOffset: number; highWatermark: number }> {
  const records: Rec[] = [];
  let at = offset;
  for (;;) {
    const res = await fetchRecords(topic, 0, `offset=${at}&maxRecords=${maxRecords}`);
    const body = (await res.json()) as { records: Rec[]; nextOffset: number; highWatermark: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    records.push(...body.records);
    if (body.nextOffset >= body.highWatermark) return { records, nextOffset: body.nextOffset, highWatermark: body.highWatermark };
    expect(body.nextOffset, "each page moves on").toBeGreaterThan(at);
    at = body.nextOffset;
  }
}

/** The log Kafka's cleaner leaves after one pass to `end`: below it, the latest of each key there (no tombstone removal yet). */
function expectedAfterPass(all: Rec[], end: number): Rec[] {
  const latest = new Map<string, number>();
  for (const r of all) if (r.offset < end && r.key !== null) latest.set(r.key, r.offset);
  return all.filter((r) => r.offset >= end || (r.key !== null && latest.get(r.key) === r.offset));
}

/** The partition's stored rows, as the replicas must agree on them. */
async function storedRows(topicId: string, r: number): Promise<string[]> {
  return runInDurableObject(replica(topicId, r), (_instance, state) =>
    state.storage.sql
      .exec<{ row: string }>("SELECT base_offset || ':' || last_offset || ':' || hex(data) AS row FROM batches ORDER BY base_offset")
      .toArray()
      .map((x) => x.row),
  );
}

async function compactNow(topic: TopicDescription): Promise<void> {
  await runDurableObjectAlarm(leaderStub(topic));
}

describe("a compacted topic", () => {
  it("keeps the latest record of each key at its original offset, in offset order, and leaves the last batch (the log's head) as it is", async () => {
    const name = uniqueTopic("compact");
    const topic = await createTopic(name, 1, COMPACT);
    for (let round = 0; round < 6; round++) {
      await produced(
        name,
        Array.from({ length: 5 }, (_, k) => ({ key: `k${(k * (round + 1)) % 7}`, value: { round, k } })),
      );
    }
    const head = await produced(name, [{ key: "k1", value: "head" }]);
    const before = (await readAll(name)).records;
    expect(before).toHaveLength(31);

    await compactNow(topic);

    const after = await readAll(name);
    expect(after.records).toEqual(expectedAfterPass(before, head[0]));
    expect(after.records.length).toBeLessThan(before.length);
    // k1's latest below the head stays too: compaction never reads past the pass's end.
    expect(after.records.filter((r) => r.key === "k1").map((r) => r.value)).toHaveLength(2);
    expect(after.nextOffset).toBe(31);
    expect(after.highWatermark).toBe(31);
  });

  it("refuses a record without a key with INVALID_RECORD, JSON and binary, and appends nothing of the request", async () => {
    const name = uniqueTopic("keyless");
    await createTopic(name, 1, COMPACT);
    await produced(name, [{ key: "a", value: 1 }]);
    await expectError(
      await api(`/v1/topics/${name}/records`, {
        method: "POST",
        json: {
          records: [
            { key: "b", value: 2, partition: 0 },
            { key: null, value: 3, partition: 0 },
          ],
        },
      }),
      400,
      "INVALID_RECORD",
    );
    const batch = await encodeBatch([
      { key: encoder.encode("c"), value: encoder.encode("4") },
      { key: null, value: encoder.encode("5") },
    ]);
    await expectError(await postBatch(name, batch), 400, "INVALID_RECORD");
    const { records, highWatermark } = await readAll(name);
    expect(records.map((r) => r.value)).toEqual([1]);
    expect(highWatermark).toBe(1);
    // A keyed batch is taken.
    const keyed = await postBatch(name, await encodeBatch([{ key: encoder.encode("c"), value: encoder.encode("6") }]));
    expect(keyed.status).toBe(200);
  });

  it("keeps a tombstone (a null value) for delete.retention.ms after compaction first reaches it, then removes it with the key's older values", async () => {
    const name = uniqueTopic("tombstone");
    const topic = await createTopic(name, 1, { ...COMPACT, "delete.retention.ms": 300 });
    await produced(name, [
      { key: "gone", value: "v1" },
      { key: "stays", value: "s1" },
    ]);
    await produced(name, [{ key: "gone", value: null }]);
    await produced(name, [{ key: "stays", value: "s2" }]);
    await produced(name, [{ key: "other", value: "head" }]);
    await compactNow(topic);
    expect((await readAll(name)).records.map((r) => [r.key, r.value])).toEqual([
      ["gone", null],
      ["stays", "s2"],
      ["other", "head"],
    ]);
    // The pass set the alarm for when the tombstone may go.
    const alarm = await runInDurableObject(leaderStub(topic), (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 350));
    await compactNow(topic);
    expect((await readAll(name)).records.map((r) => [r.offset, r.key, r.value])).toEqual([
      [3, "stays", "s2"],
      [4, "other", "head"],
    ]);
  });

  it("compacts only records older than min.compaction.lag.ms", async () => {
    const name = uniqueTopic("lag");
    const topic = await createTopic(name, 1, { ...COMPACT, "min.compaction.lag.ms": 3_600_000 });
    const old = Date.now() - 2 * 3_600_000;
    await produced(name, [{ key: "a", value: "old1", timestamp: old }]);
    await produced(name, [{ key: "a", value: "old2", timestamp: old + 1 }]);
    await produced(name, [{ key: "a", value: "new1" }]);
    await produced(name, [{ key: "a", value: "new2" }]);
    await produced(name, [{ key: "z", value: "head" }]);
    await compactNow(topic);
    // The pass ends before the first young batch: old1 (superseded within it) goes; old2 stays, as do the young ones.
    expect((await readAll(name)).records.map((r) => r.value)).toEqual(["old2", "new1", "new2", "head"]);
  });

  it("serves every read path across the gaps: fetch from inside a gap, one record at a time, binary fetch, list offsets, timestamp lookup, and push", async () => {
    const name = uniqueTopic("gaps");
    const topic = await createTopic(name, 1, COMPACT);
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 4; i++)
      await produced(
        name,
        [0, 1, 2].map((j) => ({ key: j === 2 ? `u${i}` : "same", value: `${i}.${j}`, timestamp: t0 + i * 10 + j })),
      );
    await produced(name, [{ key: "same", value: "head", timestamp: t0 + 100 }]);
    await compactNow(topic);
    // Kept: u0 (2), u1 (5), u2 (8), same@10 and u3 (11: batch 9..11 keeps 10 and 11), head (12).
    const kept = (await readAll(name)).records.map((r) => r.offset);
    expect(kept).toEqual([2, 5, 8, 10, 11, 12]);

    // One record at a time, through nextOffset: each kept record once.
    expect((await readAll(name, 0, 1)).records.map((r) => r.offset)).toEqual(kept);
    // From inside a gap: the next kept record.
    const fromGap = (await (await fetchRecords(name, 0, "offset=3&maxRecords=1")).json()) as { records: Rec[]; nextOffset: number };
    expect(fromGap.records.map((r) => r.offset)).toEqual([5]);
    expect(fromGap.nextOffset).toBe(6);

    // Binary fetch: the batches keep their offsets; the records decode with their gaps.
    const bin = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0`);
    expect(bin.status).toBe(200);
    const offsets: number[] = [];
    for (const b of splitBatches(new Uint8Array(await bin.arrayBuffer())))
      for (const r of await decodeRecords(b.bytes)) offsets.push(r.offset);
    expect(offsets).toEqual(kept);
    expect(bin.headers.get("edgelog-next-offset")).toBe("13");

    // List offsets: earliest is still 0 (compaction does not move the log start), latest the high watermark.
    const at = async (spec: string) =>
      ((await (await api(`/v1/topics/${name}/partitions/0/offsets?timestamp=${spec}`)).json()) as { offset: number | null }).offset;
    expect(await at("earliest")).toBe(0);
    expect(await at("latest")).toBe(13);
    // A removed record's timestamp finds the first kept record at or after it.
    expect(await at(String(t0 + 3))).toBe(5);
    expect(await at(String(t0 + 21))).toBe(8);

    // Push from 0: the kept records, then the next one appended.
    const s = await openSocket(`/v1/topics/${name}/partitions/0/subscribe?offset=0`);
    const seen: number[] = [];
    while (seen.length < kept.length) seen.push(...(((await s.next()) as { records?: Rec[] }).records ?? []).map((r) => r.offset));
    expect(seen).toEqual(kept);
    await produced(name, [{ key: "after", value: "x" }]);
    seen.push(...(((await s.next()) as { records?: Rec[] }).records ?? []).map((r) => r.offset));
    expect(seen.at(-1)).toBe(13);
    s.ws.close(1000);
  });

  it("keeps a group consumer's lag exact: committing the fetch's nextOffset at the end is lag 0, and lag is highWatermark - committed", async () => {
    const name = uniqueTopic("lag-group");
    const topic = await createTopic(name, 1, COMPACT);
    for (let i = 0; i < 4; i++)
      await produced(
        name,
        [0, 1, 2].map((j) => ({ key: `k${j}`, value: `${i}.${j}` })),
      );
    await produced(name, [{ key: "k0", value: "head" }]);
    await compactNow(topic);
    const group = uniqueTopic("g");
    const join = (await (await api(`/v1/groups/${group}/members`, { method: "POST", json: { topics: [name] } })).json()) as {
      memberId: string;
    };
    const beat = (await (await api(`/v1/groups/${group}/members/${join.memberId}/heartbeat`, { method: "POST" })).json()) as {
      generation: number;
    };
    const commit = async (offset: number) => {
      const res = await api(`/v1/groups/${group}/offsets`, {
        method: "POST",
        json: { memberId: join.memberId, generation: beat.generation, offsets: [{ topic: name, partition: 0, offset }] },
      });
      expect(res.status, await res.clone().text()).toBe(200);
    };
    const lag = async () => ((await (await api(`/v1/groups/${group}`)).json()) as { partitions: { lag: number }[] }).partitions[0].lag;
    const { records, nextOffset, highWatermark } = await readAll(name);
    // The records before the head batch were compacted to one per key: a gap before the head.
    expect(records.map((r) => r.offset)).toEqual([9, 10, 11, 12]);
    await commit(nextOffset);
    expect(await lag()).toBe(0);
    await commit(records[0].offset + 1);
    expect(await lag()).toBe(highWatermark - (records[0].offset + 1));
  });

  it("never compacts into an open transaction, and removes an aborted transaction's records but keeps its marker", async () => {
    const name = uniqueTopic("compact-txn");
    const topic = await createTopic(name, 1, COMPACT);
    const id = uniqueTopic("tid");
    const producer = (await (await api("/v1/producers", { method: "POST", json: { transactionalId: id } })).json()) as {
      producerId: number;
      producerEpoch: number;
    };
    await produced(name, [{ key: "a", value: "a1" }]);
    await api(`/v1/transactions/${id}/partitions`, { method: "POST", json: { ...producer, partitions: [{ topic: name, partition: 0 }] } });
    const txHeaders = {
      "edgelog-transactional-id": id,
      "edgelog-producer-id": String(producer.producerId),
      "edgelog-producer-epoch": String(producer.producerEpoch),
    };
    const inTxn = await api(`/v1/topics/${name}/records`, {
      method: "POST",
      headers: txHeaders,
      json: { records: [{ key: "a", value: "aborted", partition: 0 }] },
    });
    expect(inTxn.status).toBe(200);
    await produced(name, [{ key: "a", value: "a2" }]);
    await produced(name, [{ key: "z", value: "head" }]);
    await compactNow(topic);
    // The open transaction at offset 1 holds the last stable offset there: nothing from it on is compacted.
    expect((await readAll(name)).records.map((r) => r.value)).toEqual(["a1", "aborted", "a2", "head"]);
    const aborted = await api(`/v1/transactions/${id}/abort`, { method: "POST", json: producer });
    expect(aborted.status).toBe(200);
    await produced(name, [{ key: "z", value: "head2" }]);
    await compactNow(topic);
    expect((await readAll(name)).records.map((r) => r.value)).toEqual(["a2", "head", "head2"]);
    const bin = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?offset=0`);
    const kinds = splitBatches(new Uint8Array(await bin.arrayBuffer())).map((b) => (b.header.isControl ? "marker" : b.header.baseOffset));
    expect(kinds).toEqual([2, 3, "marker", 5]);
  });

  it("leaves idempotent producers' state intact: a retried batch is still answered with its original offsets", async () => {
    const name = uniqueTopic("idem");
    const topic = await createTopic(name, 1, COMPACT);
    const producer = await initProducer();
    const batchOf = (value: string, seq: number) =>
      encodeBatch([{ key: encoder.encode("k"), value: encoder.encode(value) }], { ...producer, baseSequence: seq });
    const first = await batchOf("a", 0);
    expect((await postBatch(name, first)).status).toBe(200);
    expect((await postBatch(name, await batchOf("b", 1))).status).toBe(200);
    expect((await postBatch(name, await batchOf("c", 2))).status).toBe(200);
    await compactNow(topic);
    expect((await readAll(name)).records.map((r) => r.value)).toEqual(["b", "c"]);
    const retried = await postBatch(name, await batchOf("b", 1));
    expect(await retried.json()).toMatchObject({ baseOffset: 1, batches: [{ duplicate: true }] });
    expect((await postBatch(name, await batchOf("d", 3))).status).toBe(200);
    await expectError(await postBatch(name, await batchOf("e", 7)), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  it("with compact,delete also applies retention.ms; with compact alone it never trims by age", async () => {
    const old = Date.now() - 3_600_000;
    for (const policy of ["compact", "compact,delete"]) {
      const name = uniqueTopic("policy");
      const topic = await createTopic(name, 1, { ...COMPACT, "cleanup.policy": policy, "retention.ms": 60_000 });
      await produced(name, [{ key: "a", value: "old", timestamp: old }]);
      await produced(name, [{ key: "b", value: "new" }]);
      await compactNow(topic);
      const start = policy === "compact" ? 0 : 1;
      expect((await readAll(name, start)).records.map((r) => r.value)).toEqual(policy === "compact" ? ["old", "new"] : ["new"]);
    }
  });

  it("ends with every replica holding the same batches, byte for byte, as the leader", async () => {
    const name = uniqueTopic("replicas");
    const topic = await createReplicated(name, 3, COMPACT);
    for (let round = 0; round < 5; round++) {
      const res = await SELF.fetch(`${BASE}/v1/topics/${name}/partitions/0/batches?acks=all`, {
        method: "POST",
        headers: { "content-type": MEDIA_TYPE },
        body: await encodeBatch(
          Array.from({ length: 4 }, (_, k) => ({ key: encoder.encode(`k${(k + round) % 5}`), value: encoder.encode(`${round}`) })),
          { compression: round % 2 ? "gzip" : "none" },
        ),
      });
      expect(res.status).toBe(200);
    }
    const leader = topic.partitions[0].leader;
    const uncompacted = await storedRows(topic.topicId, leader);
    await compactNow(topic);
    const compacted = await storedRows(topic.topicId, leader);
    expect(compacted).not.toEqual(uncompacted);
    for (const r of topic.partitions[0].replicas) {
      await eventually(
        `replica ${r}'s rows`,
        () => storedRows(topic.topicId, r),
        (rows) => JSON.stringify(rows) === JSON.stringify(compacted),
      );
    }
  });
});
