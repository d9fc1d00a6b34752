/**
 * The idempotent batching Producer against a real `wrangler dev`: order and offsets, values as
 * the JSON API stores them, Kafka's placement, batching, gzip, retries that never duplicate, and
 * failures that reject with the server's error code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgelogError } from "../../protocol/errors";
import { partitionForKey } from "../../protocol/murmur2";
import { readBatchHeader } from "../../protocol/record-batch";
import { Producer, type ProducerOptions } from "../../web-client/producer";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson } from "../support/http";

let server: DevServer;
const encoder = new TextEncoder();
const fast = { initialMs: 5, maxMs: 50, attempts: 5 };

const call = (path: string, json?: unknown, method?: string) => callJson(server.url, path, json, method);

async function createTopic(name: string, partitions = 1, config?: Record<string, number>) {
  expect((await call("/v1/topics", { name, partitions, ...(config ? { config } : {}) })).status).toBe(201);
}

interface Stored {
  offset: number;
  key: string | null;
  value: unknown;
  headers: Record<string, string>;
  valueEncoding?: string;
}

async function records(topic: string, partition: number): Promise<Stored[]> {
  return (await call(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`)).body.records;
}

/** A fetch that records every produce request (path and, when it is JSON, its answer). */
function recording(inner: typeof fetch = fetch) {
  const posts: { path: string; answer?: { baseOffset: number; batches: { duplicate: boolean }[] } }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const res = await inner(input, init);
    const path = new URL(String(input)).pathname;
    if (init?.method === "POST" && path.endsWith("/batches")) {
      const entry: (typeof posts)[number] = { path };
      posts.push(entry);
      if (res.ok) entry.answer = await res.clone().json();
    }
    return res;
  };
  return { fetch: wrapped, posts };
}

function producer(options: Partial<ProducerOptions> = {}) {
  return new Producer({ url: server.url, retries: fast, ...options });
}

describe("the producer", () => {
  beforeAll(async () => {
    server = await startDevServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("stores the records of several send() calls in call order, at exactly the offsets send() resolved with", async () => {
    await createTopic("ordered");
    const p = producer();
    const calls = [0, 1, 2].map((c) =>
      p.send(
        "ordered",
        Array.from({ length: 5 }, (_, i) => ({ value: `c${c}-r${i}` })),
      ),
    );
    const results = (await Promise.all(calls)).flat();
    const stored = await records("ordered", 0);
    expect(stored.map((r) => r.value)).toEqual([0, 1, 2].flatMap((c) => Array.from({ length: 5 }, (_, i) => `c${c}-r${i}`)));
    expect(results.map((r) => r.offset)).toEqual(stored.map((r) => r.offset));
    expect(results.every((r) => r.topic === "ordered" && r.partition === 0)).toBe(true);
    await p.close();
  });

  it('stores values exactly as the JSON API does: a string stays a string, "123" a string, 123 a number, bytes stay bytes', async () => {
    await createTopic("json-values", 2);
    const values: unknown[] = ["text", "123", 123, 1.5, true, null, { nested: { list: [1, "two"] } }, [1, 2], "", '{"looks":"like json"}'];
    const p = producer();
    await p.send("json-values", [
      ...values.map((value) => ({ key: "k", value, partition: 0, headers: { trace: "t-1", "Content-Type": "application/json" } })),
      { value: new Uint8Array([0xff, 0x00, 0x7f]), partition: 0 },
    ]);
    const json = await call("/v1/topics/json-values/records", {
      records: [
        ...values.map((value) => ({ key: "k", value, partition: 1, headers: { trace: "t-1", "Content-Type": "application/json" } })),
        { value: "/wB/", valueEncoding: "base64", partition: 1 },
      ],
    });
    expect(json.status).toBe(200);
    const strip = (r: Stored) => ({ key: r.key, value: r.value, headers: r.headers, valueEncoding: r.valueEncoding });
    const viaProducer = (await records("json-values", 0)).map(strip);
    expect(viaProducer).toEqual((await records("json-values", 1)).map(strip));
    expect(viaProducer.slice(0, 3).map((r) => r.value)).toEqual(["text", "123", 123]);
    expect(viaProducer[10]).toMatchObject({ value: "/wB/", valueEncoding: "base64" });
    await p.close();
  });

  it("places keyed records on partitionForKey(keyBytes), where the JSON API places the same keys", async () => {
    await createTopic("keyed", 5);
    const keys = Array.from({ length: 30 }, (_, i) => `device-${i}`);
    const p = producer();
    const results = await p.send(
      "keyed",
      keys.map((key) => ({ key, value: key })),
    );
    results.forEach((r, i) => expect(r.partition).toBe(partitionForKey(encoder.encode(keys[i]), 5)));
    const viaJson = await call("/v1/topics/keyed/records", { records: keys.map((key) => ({ key, value: key })) });
    expect(viaJson.body.offsets.map((o: { partition: number }) => o.partition)).toEqual(results.map((r) => r.partition));
    for (let partition = 0; partition < 5; partition++) {
      const mine = results.filter((r) => r.partition === partition);
      const stored = (await records("keyed", partition)).slice(0, mine.length);
      expect(stored.map((r) => r.key)).toEqual(keys.filter((_, i) => results[i].partition === partition));
      expect(stored.map((r) => r.offset)).toEqual(mine.map((r) => r.offset));
    }
    await p.close();
  });

  it("batches many send() calls made within lingerMs into one request, and splits a large send at batchRecords, in order", async () => {
    await createTopic("lingered");
    const net = recording();
    const p = producer({ fetch: net.fetch, lingerMs: 50 });
    const sends = Array.from({ length: 100 }, (_, i) => p.send("lingered", [{ value: `v${i}` }]));
    const offsets = (await Promise.all(sends)).map(([r]) => r.offset);
    expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(net.posts.length).toBe(1);

    const split = producer({ fetch: net.fetch, batchRecords: 10 });
    const results = await split.send(
      "lingered",
      Array.from({ length: 95 }, (_, i) => ({ value: `w${i}` })),
    );
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 95 }, (_, i) => 100 + i));
    expect(net.posts.length).toBe(1 + 10);
    expect((await records("lingered", 0)).map((r) => r.value)).toEqual([
      ...Array.from({ length: 100 }, (_, i) => `v${i}`),
      ...Array.from({ length: 95 }, (_, i) => `w${i}`),
    ]);
    await Promise.all([p.close(), split.close()]);
  });

  it("sends gzip batches that the partition stores compressed and serves back as sent", async () => {
    await createTopic("zipped");
    const p = producer({ compression: "gzip" });
    const values = Array.from({ length: 50 }, (_, i) => ({ reading: i, unit: "celsius", note: "x".repeat(100) }));
    const results = await p.send(
      "zipped",
      values.map((value) => ({ value })),
    );
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect((await records("zipped", 0)).map((r) => r.value)).toEqual(values);
    const raw = new Uint8Array(await (await fetch(`${server.url}/v1/topics/zipped/partitions/0/batches?offset=0`)).arrayBuffer());
    expect(readBatchHeader(raw, 0).compression).toBe("gzip");
    await p.close();
  });

  it("where the response to a batch is lost after the partition stored it, the retry stores nothing twice and send() resolves with the first offset", async () => {
    await createTopic("lossy");
    await call("/v1/topics/lossy/records", { records: [{ value: "already there" }] });
    let lost = 0;
    const net = recording();
    // Performs the request, then loses the answer of the first attempt, as a dropped connection would.
    const lossy: typeof fetch = async (input, init) => {
      const res = await net.fetch(input, init);
      if (init?.method === "POST" && String(input).includes("/batches") && lost === 0) {
        lost++;
        await res.arrayBuffer();
        throw new TypeError("fetch failed: the connection was reset");
      }
      return res;
    };
    const p = producer({ fetch: lossy });
    const [first] = await p.send("lossy", [{ value: "once" }]);
    const [next] = await p.send("lossy", [{ value: "after" }]);
    expect(lost).toBe(1);
    expect(first).toEqual({ topic: "lossy", partition: 0, offset: 1 });
    expect(next.offset).toBe(2);
    // The first attempt stored it; the retry (same bytes, same sequence) was recognised.
    expect(net.posts.map((x) => [x.answer?.baseOffset, x.answer?.batches[0].duplicate])).toEqual([
      [1, false],
      [1, true],
      [2, false],
    ]);
    expect((await records("lossy", 0)).map((r) => [r.offset, r.value])).toEqual([
      [0, "already there"],
      [1, "once"],
      [2, "after"],
    ]);
    await p.close();
  });

  it("rejects send() with MESSAGE_TOO_LARGE when max.message.bytes was lowered, and the partition's next batch still lands (a refused batch uses no sequence numbers)", async () => {
    await createTopic("shrunk");
    const p = producer();
    await p.send("shrunk", [{ value: "small" }]); // caches max.message.bytes 1048588
    expect((await call("/v1/topics/shrunk/config", { config: { "max.message.bytes": 1024 } }, "PATCH")).status).toBe(200);
    const refused = await p.send("shrunk", [{ value: "x".repeat(4_000) }]).catch((err) => err);
    expect(refused).toBeInstanceOf(EdgelogError);
    expect(refused.code).toBe("MESSAGE_TOO_LARGE");
    const [next] = await p.send("shrunk", [{ value: "small again" }]);
    expect(next.offset).toBe(1);
    expect((await records("shrunk", 0)).map((r) => r.value)).toEqual(["small", "small again"]);
    await p.close();
  });

  it("splits a batch refused as too large (max.message.bytes lowered since it was read) until each part fits, storing every record once, in order", async () => {
    await createTopic("resplit");
    const net = recording();
    const p = producer({ fetch: net.fetch });
    await p.send("resplit", [{ value: "first" }]);
    expect((await call("/v1/topics/resplit/config", { config: { "max.message.bytes": 1200 } }, "PATCH")).status).toBe(200);
    const values = Array.from({ length: 12 }, (_, i) => `${i}:`.padEnd(300, "y"));
    const results = await p.send(
      "resplit",
      values.map((value) => ({ value })),
    );
    expect(results.map((r) => r.offset)).toEqual(values.map((_, i) => 1 + i));
    expect((await records("resplit", 0)).map((r) => r.value)).toEqual(["first", ...values]);
    expect(net.posts.length).toBeGreaterThan(2);
    await p.close();
  });

  it("refreshes a topic's partition count when a record names a partition beyond the count it knew", async () => {
    await createTopic("growing", 2);
    const p = producer();
    await p.send("growing", [{ value: "a", partition: 1 }]);
    expect((await call("/v1/topics/growing/partitions", { count: 3 })).status).toBe(200);
    const [r] = await p.send("growing", [{ value: "b", partition: 2 }]);
    expect(r).toEqual({ topic: "growing", partition: 2, offset: 0 });
    const missing = await p.send("growing", [{ value: "c", partition: 7 }]).catch((err) => err);
    expect(missing.code).toBe("UNKNOWN_TOPIC_OR_PARTITION");
    await p.close();
  });

  it("rejects sends of an instance fenced by a newer one with the same transactionalId with PRODUCER_FENCED, and stores none of them", async () => {
    await createTopic("fenced");
    const old = producer({ transactionalId: "billing-writer" });
    await old.send("fenced", [{ value: "old 1" }]);
    const newer = producer({ transactionalId: "billing-writer" });
    await newer.send("fenced", [{ value: "new 1" }]);
    const refused = await old.send("fenced", [{ value: "old 2" }]).catch((err) => err);
    expect(refused.code).toBe("PRODUCER_FENCED");
    await expect(old.send("fenced", [{ value: "old 3" }])).rejects.toMatchObject({ code: "PRODUCER_FENCED" });
    expect((await records("fenced", 0)).map((r) => r.value)).toEqual(["old 1", "new 1"]);
    await Promise.all([old.close(), newer.close()]);
  });

  it("flush() sends what is lingering and resolves once it is acknowledged; close() refuses later sends", async () => {
    await createTopic("flushed");
    const p = producer({ lingerMs: 60_000 });
    let acknowledged = false;
    const sent = p.send("flushed", [{ value: "waiting" }]).then((r) => ((acknowledged = true), r));
    await p.flush();
    expect(acknowledged).toBe(true);
    expect((await sent)[0].offset).toBe(0);
    await p.close();
    await expect(p.send("flushed", [{ value: "late" }])).rejects.toThrow(/closed/);
  });

  it("acks=0 stores the records and resolves with null offsets", async () => {
    await createTopic("fire-and-forget");
    const p = producer({ acks: 0 });
    const results = await p.send("fire-and-forget", [{ value: "a" }, { value: "b" }]);
    expect(results.map((r) => r.offset)).toEqual([null, null]);
    for (let i = 0; i < 50 && (await records("fire-and-forget", 0)).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await records("fire-and-forget", 0)).map((r) => r.value)).toEqual(["a", "b"]);
    await p.close();
  });
});

describe("producer options and records", () => {
  it.each([
    ["lingerMs", { lingerMs: -1 }],
    ["batchRecords", { batchRecords: 0 }],
    ["batchBytes", { batchBytes: 1.5 }],
    ["compression", { compression: "snappy" }],
    ["acks", { acks: 2 }],
    ["retries.attempts", { retries: { attempts: 0 } }],
    ["retries.maxMs", { retries: { initialMs: 100, maxMs: 10 } }],
    ["transactionalId", { transactionalId: "" }],
  ])("refuses a bad %s at construction", (_name, bad) => {
    expect(() => new Producer({ url: "http://127.0.0.1:1", ...(bad as Partial<ProducerOptions>) })).toThrow(TypeError);
  });

  it("refuses records that cannot be stored before sending anything", async () => {
    const p = new Producer({ url: "http://127.0.0.1:1" });
    await expect(p.send("t", [])).rejects.toMatchObject({ code: "INVALID_REQUEST" });
    await expect(p.send("t", [{ value: () => 1 }])).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(p.send("t", [{ value: 1, timestamp: -5 }])).rejects.toMatchObject({ code: "INVALID_TIMESTAMP" });
    await expect(p.send("t", [{ value: 1, partition: 1.5 }])).rejects.toMatchObject({ code: "INVALID_RECORD" });
    await expect(p.enqueue("t", [{ value: 1 }])).rejects.toThrow(/no outbox/);
  });
});
