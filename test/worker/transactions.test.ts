/**
 * Transactions (KIP-98): a transactional producer's records across partitions become visible to
 * read_committed together when it commits, never when it aborts; zombies are fenced; an
 * abandoned transaction is aborted after transaction.timeout.ms; offsets sent to a transaction
 * are committed exactly when it commits.
 */
import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, splitBatches } from "../../protocol/record-batch";
import { api, BASE, createTopic, expectError, uniqueTopic } from "./helpers";
import { MEDIA_TYPE } from "./replication-helpers";
import { openSocket } from "./socket";

interface Producer {
  producerId: number;
  producerEpoch: number;
}

const encoder = new TextEncoder();

async function initTransactional(id: string, timeoutMs?: number): Promise<Producer> {
  const res = await api("/v1/producers", {
    method: "POST",
    json: { transactionalId: id, ...(timeoutMs ? { "transaction.timeout.ms": timeoutMs } : {}) },
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as Producer;
}

function txnCall(id: string, action: string, json: object): Promise<Response> {
  return api(`/v1/transactions/${id}/${action}`, { method: "POST", json });
}

async function txnOk(id: string, action: string, json: object): Promise<{ state: string }> {
  const res = await txnCall(id, action, json);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as { state: string };
}

function produceIn(id: string, p: Producer, topic: string, partition: number, values: string[]): Promise<Response> {
  return api(`/v1/topics/${topic}/records`, {
    method: "POST",
    headers: {
      "edgelog-transactional-id": id,
      "edgelog-producer-id": String(p.producerId),
      "edgelog-producer-epoch": String(p.producerEpoch),
    },
    json: { records: values.map((value) => ({ value, partition })) },
  });
}

async function produceInOk(id: string, p: Producer, topic: string, partition: number, values: string[]): Promise<void> {
  const res = await produceIn(id, p, topic, partition, values);
  expect(res.status, await res.clone().text()).toBe(200);
}

async function read(
  topic: string,
  partition: number,
  isolation: "read_committed" | "read_uncommitted",
): Promise<{ values: unknown[]; nextOffset: number; highWatermark: number; lastStableOffset: number }> {
  const res = await api(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&isolation=${isolation}`);
  const body = (await res.json()) as { records: { value: unknown }[]; nextOffset: number; highWatermark: number; lastStableOffset: number };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { ...body, values: body.records.map((r) => r.value) };
}

const committedValues = async (topic: string, partition: number) => (await read(topic, partition, "read_committed")).values;

describe("transactions", () => {
  it("make a transaction spanning 3 partitions of 2 topics visible to read_committed all at once, when it commits", async () => {
    const [a, b] = [uniqueTopic("txa"), uniqueTopic("txb")];
    await createTopic(a, 2);
    await createTopic(b, 1);
    const id = uniqueTopic("tid");
    const p = await initTransactional(id);
    const partitions = [
      { topic: a, partition: 0 },
      { topic: a, partition: 1 },
      { topic: b, partition: 0 },
    ];
    expect(await txnOk(id, "partitions", { ...p, partitions })).toMatchObject({ state: "Ongoing" });
    for (const { topic, partition } of partitions)
      await produceInOk(id, p, topic, partition, [`${topic}-${partition}-x`, `${topic}-${partition}-y`]);

    for (const { topic, partition } of partitions) {
      const committed = await read(topic, partition, "read_committed");
      expect(committed.values).toEqual([]);
      expect(committed.lastStableOffset).toBe(0);
      expect((await read(topic, partition, "read_uncommitted")).values).toHaveLength(2);
    }
    expect(await txnOk(id, "commit", p)).toEqual({ state: "CompleteCommit" });
    for (const { topic, partition } of partitions) {
      const committed = await read(topic, partition, "read_committed");
      // The two records; the COMMIT marker at offset 2 is the log's, never a record.
      expect(committed.values).toEqual([`${topic}-${partition}-x`, `${topic}-${partition}-y`]);
      expect(committed).toMatchObject({ highWatermark: 3, lastStableOffset: 3, nextOffset: 3 });
      expect((await read(topic, partition, "read_uncommitted")).values).toHaveLength(2);
    }
    // A retried commit answers the same.
    expect(await txnOk(id, "commit", p)).toEqual({ state: "CompleteCommit" });
  });

  it("never show an aborted transaction's records to read_committed, in JSON or in binary (whose aborted transactions header names it)", async () => {
    const topic = uniqueTopic("txabort");
    await createTopic(topic, 1);
    const id = uniqueTopic("tid");
    const p = await initTransactional(id);
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await produceInOk(id, p, topic, 0, ["aborted-1", "aborted-2"]);
    expect(await txnOk(id, "abort", p)).toEqual({ state: "CompleteAbort" });
    await api(`/v1/topics/${topic}/records`, { method: "POST", json: { records: [{ value: "plain", partition: 0 }] } });
    // The same producer's next transaction commits.
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    const binary = await encodeBatch([{ key: null, value: encoder.encode("committed") }], { ...p, baseSequence: 0, isTransactional: true });
    const posted = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/0/batches`, {
      method: "POST",
      headers: { "content-type": MEDIA_TYPE, "edgelog-transactional-id": id },
      body: binary,
    });
    expect(posted.status, await posted.clone().text()).toBe(200);
    await txnOk(id, "commit", p);

    expect(await committedValues(topic, 0)).toEqual(["plain", "committed"]);
    expect((await read(topic, 0, "read_uncommitted")).values).toEqual(["aborted-1", "aborted-2", "plain", "committed"]);
    const bin = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/0/batches?offset=0&isolation=read_committed`);
    expect(JSON.parse(bin.headers.get("edgelog-aborted-transactions") ?? "null")).toEqual([{ producerId: p.producerId, firstOffset: 0 }]);
    expect(bin.headers.get("edgelog-last-stable-offset")).toBe(bin.headers.get("edgelog-high-watermark"));
    const batches = splitBatches(new Uint8Array(await bin.arrayBuffer()));
    // Data, ABORT marker, plain, data, COMMIT marker: the client filters with the header.
    expect(batches.map((b) => [b.header.isTransactional, b.header.isControl])).toEqual([
      [true, false],
      [true, true],
      [false, false],
      [true, false],
      [true, true],
    ]);
    expect((await decodeRecords(batches[2].bytes)).map((r) => new TextDecoder().decode(r.value!))).toEqual(["plain"]);
  });

  it("push read_committed subscribers only committed records, in order, nothing past an open transaction", async () => {
    const topic = uniqueTopic("txpush");
    await createTopic(topic, 1);
    const id = uniqueTopic("tid");
    const p = await initTransactional(id);
    const s = await openSocket(`/v1/topics/${topic}/partitions/0/subscribe?offset=0&isolation=read_committed`);
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await produceInOk(id, p, topic, 0, ["aborted"]);
    await api(`/v1/topics/${topic}/records`, { method: "POST", json: { records: [{ value: "plain", partition: 0 }] } });
    await txnOk(id, "abort", p);
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await produceInOk(id, p, topic, 0, ["committed"]);
    await txnOk(id, "commit", p);
    const seen: unknown[] = [];
    while (seen.length < 2) seen.push(...(((await s.next()) as { records?: { value: unknown }[] }).records ?? []).map((r) => r.value));
    expect(seen).toEqual(["plain", "committed"]);
    s.ws.close(1000);
  });

  it("fence a zombie: after a new instance starts, the old epoch's produce, add, commit and abort are PRODUCER_FENCED, and its ongoing transaction is aborted", async () => {
    const topic = uniqueTopic("txzombie");
    await createTopic(topic, 1);
    const id = uniqueTopic("tid");
    const zombie = await initTransactional(id);
    await txnOk(id, "partitions", { ...zombie, partitions: [{ topic, partition: 0 }] });
    await produceInOk(id, zombie, topic, 0, ["from the zombie"]);
    const current = await initTransactional(id);
    expect(current).toEqual({ producerId: zombie.producerId, producerEpoch: zombie.producerEpoch + 1 });

    await expectError(await produceIn(id, zombie, topic, 0, ["late"]), 409, "PRODUCER_FENCED");
    await expectError(await txnCall(id, "partitions", { ...zombie, partitions: [{ topic, partition: 0 }] }), 409, "PRODUCER_FENCED");
    await expectError(await txnCall(id, "commit", zombie), 409, "PRODUCER_FENCED");
    await expectError(await txnCall(id, "abort", zombie), 409, "PRODUCER_FENCED");
    await expectError(await txnCall(id, "commit", { ...current, producerEpoch: current.producerEpoch + 1 }), 409, "INVALID_PRODUCER_EPOCH");
    // The zombie's binary batch is refused by the partition too (the abort marker carried the new epoch).
    const batch = await encodeBatch([{ key: null, value: encoder.encode("zombie binary") }], {
      ...zombie,
      baseSequence: 1,
      isTransactional: true,
    });
    const res = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/0/batches`, {
      method: "POST",
      headers: { "content-type": MEDIA_TYPE, "edgelog-transactional-id": id },
      body: batch,
    });
    await expectError(res, 409, "PRODUCER_FENCED");
    const state = await read(topic, 0, "read_committed");
    expect(state.values).toEqual([]);
    expect(state.lastStableOffset).toBe(state.highWatermark);
  });

  it("abort a transaction abandoned past transaction.timeout.ms, fencing its producer", async () => {
    const topic = uniqueTopic("txtimeout");
    await createTopic(topic, 1);
    const id = uniqueTopic("tid");
    const p = await initTransactional(id, 100);
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await produceInOk(id, p, topic, 0, ["abandoned"]);
    expect((await read(topic, 0, "read_committed")).lastStableOffset).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await runDurableObjectAlarm(env.TXN.get(env.TXN.idFromName(id)));
    const after = await read(topic, 0, "read_committed");
    expect(after.values).toEqual([]);
    expect(after.lastStableOffset).toBe(after.highWatermark);
    expect(after.highWatermark).toBe(2);
    await expectError(await txnCall(id, "commit", p), 409, "PRODUCER_FENCED");
  });

  it("commit offsets sent to a transaction exactly when it commits, and never when it aborts", async () => {
    const topic = uniqueTopic("txoffsets");
    await createTopic(topic, 1);
    const group = uniqueTopic("g");
    const id = uniqueTopic("tid");
    const p = await initTransactional(id);
    const committed = async () =>
      ((await (await api(`/v1/groups/${group}/offsets`)).json()) as { offsets: { offset: number }[] }).offsets.map((o) => o.offset);

    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await txnOk(id, "offsets", { ...p, groupId: group, offsets: [{ topic, partition: 0, offset: 7 }] });
    expect(await committed()).toEqual([]);
    await txnOk(id, "abort", p);
    expect(await committed()).toEqual([]);

    await txnOk(id, "offsets", { ...p, groupId: group, offsets: [{ topic, partition: 0, offset: 9 }] });
    expect(await committed()).toEqual([]);
    await txnOk(id, "commit", p);
    expect(await committed()).toEqual([9]);
  });

  it("refuse what the transaction's state does not allow, with a clear code, and append nothing", async () => {
    const topic = uniqueTopic("txbad");
    await createTopic(topic, 2);
    const id = uniqueTopic("tid");
    await expectError(await txnCall(id, "commit", { producerId: 1, producerEpoch: 0 }), 409, "INVALID_PRODUCER_ID_MAPPING");
    const p = await initTransactional(id);
    await expectError(await txnCall(id, "commit", p), 409, "INVALID_TXN_STATE");
    await txnOk(id, "partitions", { ...p, partitions: [{ topic, partition: 0 }] });
    await expectError(await produceIn(id, p, topic, 1, ["not added"]), 409, "INVALID_TXN_STATE");
    const missing = await api(`/v1/topics/${topic}/records`, {
      method: "POST",
      headers: { "edgelog-transactional-id": id },
      json: { records: [{ value: "x", partition: 0 }] },
    });
    await expectError(missing, 400, "INVALID_REQUEST");
    await expectError(await txnCall(id, "partitions", { ...p, partitions: [{ topic, partition: 5 }] }), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    const batch = await encodeBatch([{ key: null, value: encoder.encode("no id") }], { ...p, baseSequence: 0, isTransactional: true });
    const noHeader = await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/0/batches`, {
      method: "POST",
      headers: { "content-type": MEDIA_TYPE },
      body: batch,
    });
    await expectError(noHeader, 400, "INVALID_REQUEST");
    for (const partition of [0, 1]) expect((await read(topic, partition, "read_uncommitted")).highWatermark).toBe(0);
  });
});
