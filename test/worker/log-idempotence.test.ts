/**
 * Retries that cannot duplicate: idempotent producers (producer id, epoch and per-partition
 * sequence numbers in the batch header, as Kafka's) and the JSON API's Idempotency-Key; and a
 * seeded history of produces, retries, gaps and reads checked for lost, duplicated and
 * conflicting records.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encodeBatch, splitBatches, decodeRecords } from "../../protocol/record-batch";
import { api, BASE, createTopic, expectError, fetchRecords, produce, uniqueTopic } from "./helpers";
import { checkHistory, History, prng, type Placed } from "./history";

const MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";
const encoder = new TextEncoder();

interface Producer {
  producerId: number;
  producerEpoch: number;
}
interface Appended {
  baseOffset: number;
  lastOffset: number;
  batches: { baseOffset: number; lastOffset: number; duplicate: boolean }[];
}
interface Fetched {
  records: { offset: number; key: string | null; value: unknown }[];
  highWatermark: number;
  nextOffset: number;
}

async function initProducer(transactionalId?: string): Promise<Producer> {
  const res = await api(
    "/v1/producers",
    transactionalId === undefined ? { method: "POST" } : { method: "POST", json: { transactionalId } },
  );
  const body = (await res.json()) as Producer;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** A batch of `values` from the producer, numbered from `baseSequence`. */
function batchOf(p: Producer, baseSequence: number, values: string[]): Promise<Uint8Array> {
  return encodeBatch(
    values.map((v) => ({ key: null, value: encoder.encode(v) })),
    { producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence },
  );
}

function postBatch(topic: string, partition: number, batch: Uint8Array): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches`, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE },
    body: batch.slice(),
  });
}

async function appended(topic: string, partition: number, batch: Uint8Array): Promise<Appended> {
  const res = await postBatch(topic, partition, batch);
  const body = (await res.json()) as Appended;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function values(topic: string, partition = 0): Promise<unknown[]> {
  const res = await fetchRecords(topic, partition, "offset=0&maxRecords=10000");
  const body = (await res.json()) as Fetched;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.records.map((r) => r.value);
}

function produceWithKey(topic: string, key: string, records: unknown[]): Promise<Response> {
  return api(`/v1/topics/${topic}/records`, { method: "POST", headers: { "idempotency-key": key }, json: { records } });
}

describe("idempotent producers", () => {
  it("issues a new producer id at epoch 0 for each POST /v1/producers without a transactionalId", async () => {
    const a = await initProducer();
    const b = await initProducer();
    expect(a).toEqual({ producerId: expect.any(Number), producerEpoch: 0 });
    expect(b.producerEpoch).toBe(0);
    expect(b.producerId).not.toBe(a.producerId);
  });

  it("stores a retried batch once and answers the retry with the original offsets", async () => {
    const topic = uniqueTopic("dup");
    await createTopic(topic, 1);
    const p = await initProducer();
    await appended(topic, 0, await encodeBatch([{ key: null, value: encoder.encode("plain") }]));
    const first = await batchOf(p, 0, ["a", "b", "c"]);
    expect((await appended(topic, 0, first)).batches).toEqual([{ baseOffset: 1, lastOffset: 3, duplicate: false }]);
    const retry = await appended(topic, 0, first);
    expect(retry).toMatchObject({ baseOffset: 1, lastOffset: 3, batches: [{ baseOffset: 1, lastOffset: 3, duplicate: true }] });
    expect(await values(topic)).toEqual(["plain", "a", "b", "c"]);
    // The next sequence appends.
    expect((await appended(topic, 0, await batchOf(p, 3, ["d"]))).batches).toEqual([{ baseOffset: 4, lastOffset: 4, duplicate: false }]);
    // An older batch, still among the last five, is still recognised.
    expect((await appended(topic, 0, first)).batches).toEqual([{ baseOffset: 1, lastOffset: 3, duplicate: true }]);
    expect(await values(topic)).toEqual(["plain", "a", "b", "c", "d"]);
  });

  it("recognises a retry inside a body that also carries the next batch, appending only the new one", async () => {
    const topic = uniqueTopic("dupmixed");
    await createTopic(topic, 1);
    const p = await initProducer();
    const first = await batchOf(p, 0, ["a", "b"]);
    await appended(topic, 0, first);
    const second = await batchOf(p, 2, ["c"]);
    const body = new Uint8Array(first.length + second.length);
    body.set(first);
    body.set(second, first.length);
    expect((await appended(topic, 0, body)).batches).toEqual([
      { baseOffset: 0, lastOffset: 1, duplicate: true },
      { baseOffset: 2, lastOffset: 2, duplicate: false },
    ]);
    expect(await values(topic)).toEqual(["a", "b", "c"]);
  });

  it("remembers the last five batches: a retry of an older one is OUT_OF_ORDER_SEQUENCE_NUMBER, never a second copy", async () => {
    const topic = uniqueTopic("five");
    await createTopic(topic, 1);
    const p = await initProducer();
    const batches: Uint8Array[] = [];
    for (let i = 0; i < 7; i++) {
      batches.push(await batchOf(p, i, [`v${i}`]));
      await appended(topic, 0, batches[i]);
    }
    for (let i = 2; i < 7; i++)
      expect((await appended(topic, 0, batches[i])).batches[0]).toEqual({ baseOffset: i, lastOffset: i, duplicate: true });
    await expectError(await postBatch(topic, 0, batches[1]), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(await values(topic)).toEqual(["v0", "v1", "v2", "v3", "v4", "v5", "v6"]);
  });

  it("refuses a sequence gap with 409 OUT_OF_ORDER_SEQUENCE_NUMBER and stores nothing; the expected sequence still appends", async () => {
    const topic = uniqueTopic("gap");
    await createTopic(topic, 1);
    const p = await initProducer();
    await appended(topic, 0, await batchOf(p, 0, ["a", "b"]));
    await expectError(await postBatch(topic, 0, await batchOf(p, 3, ["skipped-one"])), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    await expectError(await postBatch(topic, 0, await batchOf(p, 1, ["overlaps"])), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(await values(topic)).toEqual(["a", "b"]);
    expect((await appended(topic, 0, await batchOf(p, 2, ["c"]))).batches[0]).toEqual({ baseOffset: 2, lastOffset: 2, duplicate: false });
  });

  it("refuses a new producer whose first batch does not start at sequence 0", async () => {
    const topic = uniqueTopic("start");
    await createTopic(topic, 1);
    const p = await initProducer();
    await expectError(await postBatch(topic, 0, await batchOf(p, 5, ["x"])), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    expect(await values(topic)).toEqual([]);
    expect((await appended(topic, 0, await batchOf(p, 0, ["y"]))).baseOffset).toBe(0);
  });

  it("bumps the epoch of a transactionalId on re-init, fences the old epoch with 409 PRODUCER_FENCED, and restarts the new epoch at sequence 0", async () => {
    const topic = uniqueTopic("fence");
    await createTopic(topic, 1);
    const transactionalId = uniqueTopic("txn");
    const old = await initProducer(transactionalId);
    await appended(topic, 0, await batchOf(old, 0, ["old-0"]));
    const bumped = await initProducer(transactionalId);
    expect(bumped).toEqual({ producerId: old.producerId, producerEpoch: old.producerEpoch + 1 });
    // The new epoch must start again at 0.
    await expectError(await postBatch(topic, 0, await batchOf(bumped, 1, ["new-1"])), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    await appended(topic, 0, await batchOf(bumped, 0, ["new-0"]));
    // The zombie is fenced, whatever sequence it sends, and a retry of its stored batch too.
    await expectError(await postBatch(topic, 0, await batchOf(old, 1, ["old-1"])), 409, "PRODUCER_FENCED");
    await expectError(await postBatch(topic, 0, await batchOf(old, 0, ["old-0"])), 409, "PRODUCER_FENCED");
    await appended(topic, 0, await batchOf(bumped, 1, ["new-1"]));
    expect(await values(topic)).toEqual(["old-0", "new-0", "new-1"]);
  });

  it("numbers sequences per partition: each partition expects the producer from 0", async () => {
    const topic = uniqueTopic("perpartition");
    await createTopic(topic, 2);
    const p = await initProducer();
    await appended(topic, 0, await batchOf(p, 0, ["p0-a", "p0-b"]));
    expect((await appended(topic, 1, await batchOf(p, 0, ["p1-a"]))).batches[0].duplicate).toBe(false);
    await expectError(await postBatch(topic, 1, await batchOf(p, 2, ["p1-gap"])), 409, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    await appended(topic, 1, await batchOf(p, 1, ["p1-b"]));
    await appended(topic, 0, await batchOf(p, 2, ["p0-c"]));
    expect(await values(topic, 0)).toEqual(["p0-a", "p0-b", "p0-c"]);
    expect(await values(topic, 1)).toEqual(["p1-a", "p1-b"]);
  });
});

describe("Idempotency-Key on the JSON API", () => {
  it("answers a retried request with the same offsets and stores its unkeyed records once", async () => {
    const topic = uniqueTopic("idem");
    await createTopic(topic, 3);
    const records = [{ value: "u1" }, { value: { n: 2 } }, { value: "u3" }];
    const first = await produceWithKey(topic, "req-1", records);
    const firstBody = (await first.json()) as { offsets: Placed[] };
    expect(first.status).toBe(200);
    const partition = firstBody.offsets[0].partition;
    expect(firstBody.offsets.every((o) => o.partition === partition)).toBe(true);
    const retry = await produceWithKey(topic, "req-1", records);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual(firstBody);
    const all = (await Promise.all([0, 1, 2].map((p) => values(topic, p)))).flat();
    expect(all).toEqual(["u1", { n: 2 }, "u3"]);
    // A different key is a different request.
    const other = await produceWithKey(topic, "req-2", records);
    expect(other.status).toBe(200);
    expect((await Promise.all([0, 1, 2].map((p) => values(topic, p)))).flat()).toHaveLength(6);
  });

  it("answers a retried multi-partition keyed request with the same offsets and stores each record once", async () => {
    const topic = uniqueTopic("idemkeyed");
    await createTopic(topic, 4);
    await produce(topic, [{ value: "pre", partition: 2 }]);
    const records = Array.from({ length: 12 }, (_, i) => ({ key: `key-${i}`, value: `v${i}` }));
    const first = (await (await produceWithKey(topic, "multi", records)).json()) as { offsets: Placed[] };
    expect(new Set(first.offsets.map((o) => o.partition)).size).toBeGreaterThan(1);
    for (let i = 0; i < 3; i++) {
      const retry = await produceWithKey(topic, "multi", records);
      expect(retry.status).toBe(200);
      expect(await retry.json()).toEqual(first);
    }
    const byPartition = await Promise.all([0, 1, 2, 3].map((p) => values(topic, p)));
    expect(
      byPartition
        .flat()
        .filter((v) => v !== "pre")
        .sort(),
    ).toEqual(records.map((r) => r.value).sort());
    // Each answered offset holds the record it was given for.
    first.offsets.forEach((o, i) => expect(byPartition[o.partition][o.offset], `record ${i}`).toBe(records[i].value));
  });

  it("refuses the same key with a different body (same partitions) with 400 INVALID_REQUEST, storing nothing", async () => {
    const topic = uniqueTopic("idemconflict");
    await createTopic(topic, 1);
    expect((await produceWithKey(topic, "k", [{ value: "one" }])).status).toBe(200);
    await expectError(await produceWithKey(topic, "k", [{ value: "two" }]), 400, "INVALID_REQUEST");
    await expectError(await produceWithKey(topic, "k", [{ value: "one" }, { value: "extra" }]), 400, "INVALID_REQUEST");
    expect(await values(topic)).toEqual(["one"]);
  });

  it("refuses the same key with a different body that goes to other partitions with 400 INVALID_REQUEST, storing nothing anywhere", async () => {
    const topic = uniqueTopic("idemconflictparts");
    await createTopic(topic, 4);
    expect((await produceWithKey(topic, "k2", [{ value: "first", partition: 0 }])).status).toBe(200);
    await expectError(await produceWithKey(topic, "k2", [{ value: "second", partition: 3 }]), 400, "INVALID_REQUEST");
    await expectError(
      await produceWithKey(topic, "k2", [
        { value: "third", partition: 0 },
        { value: "fourth", partition: 1 },
      ]),
      400,
      "INVALID_REQUEST",
    );
    const stored = await Promise.all([0, 1, 2, 3].map((p) => values(topic, p)));
    expect(stored).toEqual([["first"], [], [], []]);
    // The original request is still answered as a retry.
    const retry = await produceWithKey(topic, "k2", [{ value: "first", partition: 0 }]);
    expect(await retry.json()).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
  });
});

describe("requests of many batches", () => {
  it("refuses a request with more than five batches of one producer (a resend could not be recognised) with 400 INVALID_REQUEST, storing nothing", async () => {
    const topic = uniqueTopic("many-batches");
    await createTopic(topic, 1);
    const p = await initProducer();
    const batches = await Promise.all(Array.from({ length: 6 }, (_, i) => batchOf(p, i, [`v${i}`])));
    const body = new Uint8Array(batches.reduce((n, b) => n + b.byteLength, 0));
    let at = 0;
    for (const b of batches) {
      body.set(b, at);
      at += b.byteLength;
    }
    const error = await expectError(await postBatch(topic, 0, body), 400, "INVALID_REQUEST");
    expect(error.message).toMatch(/at most 5 batches/);
    expect(await values(topic)).toEqual([]);
    // Five are fine.
    expect((await postBatch(topic, 0, body.subarray(0, at - batches[5].byteLength))).status).toBe(200);
    expect(await values(topic)).toEqual(["v0", "v1", "v2", "v3", "v4"]);
  });
});

describe("a seeded history of produces, retries, gaps and reads", () => {
  it("loses no acknowledged record, duplicates none, never shows two values at one offset, and keeps offsets dense", async () => {
    const topic = uniqueTopic("history");
    const PARTITIONS = 3;
    await createTopic(topic, PARTITIONS);
    const rnd = prng(0x5eed);
    const history = new History();
    const hw = [0, 0, 0];
    let counter = 0;
    const fresh = (n: number) => Array.from({ length: n }, () => `v${counter++}`);

    // Idempotent producers, one sequence counter per partition each.
    const producers = [await initProducer(), await initProducer()].map((p) => ({
      p,
      next: new Array(PARTITIONS).fill(0) as number[],
      sent: [] as { partition: number; batch: Uint8Array; values: string[] }[],
    }));
    // JSON requests already sent with an idempotency key, to retry.
    const keyed: { key: string; records: { key?: string; value: string; partition?: number }[] }[] = [];

    const sendJson = async (key: string | null, records: { key?: string; value: string; partition?: number }[]) => {
      const vals = records.map((r) => r.value);
      const op = history.send(vals);
      const res = key === null ? await produce(topic, records) : await produceWithKey(topic, key, records);
      const body = (await res.json()) as { offsets: { partition: number; offset: number }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      history.ack(
        op,
        body.offsets.map((o, i) => ({ value: vals[i], partition: o.partition, offset: o.offset })),
      );
      for (const o of body.offsets) hw[o.partition] = Math.max(hw[o.partition], o.offset + 1);
    };
    const sendBatch = async (partition: number, batch: Uint8Array, vals: string[]) => {
      const op = history.send(vals);
      const res = await postBatch(topic, partition, batch);
      const body = (await res.json()) as Appended & { error?: { code: string } };
      if (res.status === 200) {
        const b = body.batches[0];
        history.ack(
          op,
          vals.map((value, i) => ({ value, partition, offset: b.baseOffset + i })),
        );
        hw[partition] = Math.max(hw[partition], b.lastOffset + 1);
      } else {
        expect(res.status, JSON.stringify(body)).toBe(409);
        history.refused(op, vals, body.error?.code ?? "?");
      }
      return res.status;
    };

    for (let step = 0; step < 120; step++) {
      const roll = rnd.next();
      if (roll < 0.2) {
        // Plain JSON produce: keyed, explicit or unkeyed records.
        await sendJson(
          null,
          fresh(1 + rnd.int(4)).map((value) =>
            rnd.chance(0.5) ? { key: `k${rnd.int(20)}`, value } : rnd.chance(0.5) ? { value, partition: rnd.int(PARTITIONS) } : { value },
          ),
        );
      } else if (roll < 0.35) {
        // JSON produce with an idempotency key; some later retried.
        const records = fresh(1 + rnd.int(4)).map((value) => (rnd.chance(0.6) ? { key: `k${rnd.int(20)}`, value } : { value }));
        const key = `idem-${step}`;
        keyed.push({ key, records });
        await sendJson(key, records);
      } else if (roll < 0.45 && keyed.length > 0) {
        const { key, records } = rnd.pick(keyed);
        await sendJson(key, records);
      } else if (roll < 0.65) {
        // The next batch of an idempotent producer.
        const prod = rnd.pick(producers);
        const partition = rnd.int(PARTITIONS);
        const vals = fresh(1 + rnd.int(3));
        const batch = await batchOf(prod.p, prod.next[partition], vals);
        expect(await sendBatch(partition, batch, vals)).toBe(200);
        prod.next[partition] += vals.length;
        prod.sent.push({ partition, batch, values: vals });
      } else if (roll < 0.75) {
        // A retry of one of the producer's last batches on that partition (as if the ack was lost).
        const prod = rnd.pick(producers);
        const recent = prod.sent.slice(-3);
        if (recent.length === 0) continue;
        const { partition, batch, values: vals } = rnd.pick(recent);
        const op = history.send(vals);
        const res = await postBatch(topic, partition, batch);
        const body = (await res.json()) as Appended;
        expect(res.status, JSON.stringify(body)).toBe(200);
        expect(body.batches[0].duplicate).toBe(true);
        history.ack(
          op,
          vals.map((value, i) => ({ value, partition, offset: body.batches[0].baseOffset + i })),
        );
      } else if (roll < 0.82) {
        // A gap: a batch skipping sequence numbers must be refused.
        const prod = rnd.pick(producers);
        const partition = rnd.int(PARTITIONS);
        const vals = fresh(1 + rnd.int(2));
        const status = await sendBatch(partition, await batchOf(prod.p, prod.next[partition] + 1 + rnd.int(3), vals), vals);
        expect(status).toBe(409);
      } else {
        // A read from somewhere in the log.
        const partition = rnd.int(PARTITIONS);
        const from = rnd.int(hw[partition] + 1);
        const res = await fetchRecords(topic, partition, `offset=${from}&maxRecords=${1 + rnd.int(8)}`);
        const body = (await res.json()) as Fetched;
        expect(res.status, JSON.stringify(body)).toBe(200);
        history.read(
          partition,
          from,
          body.records.map((r) => ({ offset: r.offset, value: String(r.value) })),
        );
      }
    }

    const final = new Map<number, { offset: number; value: string }[]>();
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const res = await fetchRecords(topic, partition, "offset=0&maxRecords=10000");
      const body = (await res.json()) as Fetched;
      expect(body.records.length).toBe(body.highWatermark);
      final.set(
        partition,
        body.records.map((r) => ({ offset: r.offset, value: String(r.value) })),
      );
      // The binary view of the log agrees with the JSON one.
      const bin = new Uint8Array(
        await (await SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches?offset=0&maxRecords=10000`)).arrayBuffer(),
      );
      const decoded = (await Promise.all(splitBatches(bin).map((b) => decodeRecords(b.bytes)))).flat();
      expect(decoded.map((r) => r.offset)).toEqual(body.records.map((r) => r.offset));
    }
    const anomalies = checkHistory(history, final);
    expect(anomalies).toEqual([]);
    // The run exercised what it claims to.
    const kinds = history.ops.map((o) => o.type);
    expect(kinds.filter((k) => k === "refused").length).toBeGreaterThan(0);
    expect(kinds.filter((k) => k === "read").length).toBeGreaterThan(0);
    expect(counter).toBeGreaterThan(50);
  }, 30_000);

  it("the checker itself finds a lost write, a duplicate, two values at one offset, and a gap", () => {
    const h = new History();
    h.ack(h.send(["a"]), [{ value: "a", partition: 0, offset: 0 }]);
    h.ack(h.send(["b"]), [{ value: "b", partition: 0, offset: 1 }]);
    h.ack(h.send(["c"]), [{ value: "c", partition: 0, offset: 1 }]);
    h.refused(h.send(["r"]), ["r"], "OUT_OF_ORDER_SEQUENCE_NUMBER");
    h.read(0, 0, [
      { offset: 0, value: "a" },
      { offset: 2, value: "a" },
    ]);
    const anomalies = checkHistory(
      h,
      new Map([
        [
          0,
          [
            { offset: 0, value: "a" },
            { offset: 1, value: "b" },
            { offset: 2, value: "a" },
            { offset: 4, value: "r" },
          ],
        ],
      ]),
    );
    const text = anomalies.join("\n");
    expect(text).toContain("two values at 0/1");
    expect(text).toContain("lost: acknowledged c");
    expect(text).toContain("duplicate: a");
    expect(text).toContain("record 1 has offset 2, expected 1");
    expect(text).toContain("offsets must be dense");
    expect(text).toContain("was refused");
  });
});
