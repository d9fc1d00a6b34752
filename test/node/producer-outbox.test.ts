/**
 * The producer's IndexedDB outbox (fake-indexeddb in Node) against a real `wrangler dev`: records
 * enqueued offline are sent once and in order when the server is back, a drain that dies between
 * the acknowledgement and the removal resends with the same identity and stores nothing twice,
 * and two drains of one outbox never run at once.
 */
import "fake-indexeddb/auto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBatchHeader } from "../../protocol/record-batch";
import { Outbox } from "../../web-client/outbox";
import { Producer, type ProducerOptions } from "../../web-client/producer";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson } from "../support/http";

const fast = { initialMs: 5, maxMs: 20, attempts: 3 };
let unique = 0;
const outboxName = (what: string) => `${what}-${Date.now()}-${unique++}`;

const call = (server: DevServer, path: string, json?: unknown) => callJson(server.url, path, json);

async function stored(server: DevServer, topic: string, partition = 0): Promise<{ offset: number; value: unknown }[]> {
  return (await call(server, `/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000`)).body.records;
}

/** A fetch that keeps the RecordBatch header of every produce request it sends. */
function recording() {
  const batches: ReturnType<typeof readBatchHeader>[] = [];
  const wrapped: typeof fetch = (input, init) => {
    if (init?.method === "POST" && String(input).includes("/batches")) batches.push(readBatchHeader(init.body as Uint8Array, 0));
    return fetch(input, init);
  };
  return { fetch: wrapped, batches };
}

describe("the outbox while the server is down", () => {
  let server: DevServer;
  afterAll(async () => {
    await server?.stop();
  });

  it("keeps records enqueued while the server is stopped, and the drain after it restarts stores each once, in order", async () => {
    server = await startDevServer();
    expect((await call(server, "/v1/topics", { name: "offline", partitions: 1 })).status).toBe(201);
    const outbox = await Outbox.open(outboxName("offline"));
    const producer = new Producer({ url: server.url, outbox, retries: fast });

    const { port, persistTo } = server;
    await server.stop();
    const values = ["r0", "123", 123, { celsius: 21.5 }, null, "r5", [1, 2], "r7"];
    await producer.enqueue(
      "offline",
      values.slice(0, 3).map((value) => ({ value })),
    );
    await producer.enqueue(
      "offline",
      values.slice(3, 5).map((value) => ({ value })),
    );
    await producer.enqueue(
      "offline",
      values.slice(5).map((value) => ({ value })),
    );
    await expect(producer.drain()).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(await outbox.size()).toBe(values.length);
    const entries = await outbox.entries();
    expect(JSON.parse(JSON.stringify(entries))).toEqual(entries); // plain JSON data

    server = await startDevServer({ port, persistTo });
    const result = await producer.drain();
    expect(result.sent.map((s) => s.offset)).toEqual(values.map((_, i) => i));
    expect(result.sent.map((s) => s.id)).toEqual(entries.map((e) => e.id));
    expect(result.rejected).toEqual([]);
    expect(await outbox.size()).toBe(0);
    expect((await stored(server, "offline")).map((r) => r.value)).toEqual(values);
    expect((await producer.drain()).sent).toEqual([]); // nothing left, nothing sent twice
    expect(await stored(server, "offline")).toHaveLength(values.length);
    await producer.close();
    outbox.close();
  }, 120_000);
});

describe("the outbox", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  const producer = (outbox: Outbox, options: Partial<ProducerOptions> = {}) =>
    new Producer({ url: server.url, outbox, retries: fast, ...options });

  it("where a drain dies after a batch was acknowledged but before it was removed, the next drain resends it with the same producer id, epoch and sequence, and the partition stores nothing twice", async () => {
    expect((await call(server, "/v1/topics", { name: "interrupted", partitions: 1 })).status).toBe(201);
    const name = outboxName("interrupted");
    const first = await Outbox.open(name);
    const tab = producer(first, { batchRecords: 2 });
    await tab.enqueue(
      "interrupted",
      ["r0", "r1", "r2", "r3", "r4"].map((value) => ({ value })),
    );

    // The removal of the second batch fails, as if the tab died right after the acknowledgement.
    const acknowledge = first.acknowledge.bind(first);
    let calls = 0;
    first.acknowledge = async (batch) => {
      if (++calls === 2) throw new Error("the tab died");
      return acknowledge(batch);
    };
    await expect(tab.drain()).rejects.toThrow("the tab died");
    await tab.close();
    first.close();
    expect((await stored(server, "interrupted")).map((r) => r.value)).toEqual(["r0", "r1", "r2", "r3"]);

    // A new tab opens the same outbox: the batch is still in flight, with its identity.
    const reopened = await Outbox.open(name);
    const { inflight } = await reopened.state();
    expect(inflight).toMatchObject({ topic: "interrupted", partition: 0, baseSequence: 2 });
    expect(inflight!.ids).toHaveLength(2);
    const net = recording();
    const result = await producer(reopened, { batchRecords: 2, fetch: net.fetch }).drain();
    expect(net.batches[0]).toMatchObject({
      producerId: inflight!.producerId,
      producerEpoch: inflight!.producerEpoch,
      baseSequence: 2,
      recordCount: 2,
    });
    expect(result.sent.map((s) => [s.offset, s.duplicate])).toEqual([
      [2, true],
      [3, true],
      [4, false],
    ]);
    expect((await stored(server, "interrupted")).map((r) => [r.offset, r.value])).toEqual([
      [0, "r0"],
      [1, "r1"],
      [2, "r2"],
      [3, "r3"],
      [4, "r4"],
    ]);
    expect(await reopened.size()).toBe(0);
    expect((await reopened.state()).inflight).toBeNull();
    reopened.close();
  });

  it("two drains at once, from two producers sharing one outbox name, store each record once and in order: one drain sends everything, the other waits and finds nothing", async () => {
    expect((await call(server, "/v1/topics", { name: "two-tabs", partitions: 1 })).status).toBe(201);
    const name = outboxName("two-tabs");
    const [boxA, boxB] = await Promise.all([Outbox.open(name), Outbox.open(name)]);
    const a = producer(boxA, { batchRecords: 3 });
    const b = producer(boxB, { batchRecords: 3 });
    const values: string[] = [];
    for (let i = 0; i < 8; i++) {
      const batch = [`${i}a`, `${i}b`];
      values.push(...batch);
      await (i % 2 === 0 ? a : b).enqueue(
        "two-tabs",
        batch.map((value) => ({ value })),
      );
    }
    const [ra, rb] = await Promise.all([a.drain(), b.drain()]);
    expect([ra.sent.length, rb.sent.length].sort((x, y) => x - y)).toEqual([0, values.length]);
    const ids = [...ra.sent, ...rb.sent].map((s) => s.id);
    expect(new Set(ids).size).toBe(values.length);
    expect((await stored(server, "two-tabs")).map((r) => r.value)).toEqual(values);
    await Promise.all([a.close(), b.close()]);
    boxA.close();
    boxB.close();
  });

  it("where the partition no longer knows the outbox's producer id (as after 24 hours idle), the drain starts over with a new producer id and stores each record once", async () => {
    expect((await call(server, "/v1/topics", { name: "forgotten", partitions: 1 })).status).toBe(201);
    const outbox = await Outbox.open(outboxName("forgotten"));
    // A persisted identity the server has never seen, at sequence 7: its next batch is out of order.
    const stale = await outbox.assign({ producerId: 987_654_321, producerEpoch: 0 }, "forgotten", 0, [1, 2, 3, 4, 5, 6, 7]);
    await outbox.acknowledge({ ...stale, ids: [] });
    const p = producer(outbox);
    await p.enqueue("forgotten", [{ value: "a" }, { value: "b" }]);
    const result = await p.drain();
    expect(result.sent.map((s) => s.offset)).toEqual([0, 1]);
    expect((await outbox.state()).identity?.producerId).not.toBe(987_654_321);
    expect((await stored(server, "forgotten")).map((r) => r.value)).toEqual(["a", "b"]);
    await p.close();
    outbox.close();
  });

  it("moves entries the server refuses as invalid (a topic that does not exist) to `rejected`, and sends the rest", async () => {
    expect((await call(server, "/v1/topics", { name: "exists", partitions: 1 })).status).toBe(201);
    const outbox = await Outbox.open(outboxName("rejects"));
    const p = producer(outbox);
    await p.enqueue("exists", [{ value: "kept 1" }]);
    const [lost] = await p.enqueue("does-not-exist", [{ value: "nowhere" }]);
    await p.enqueue("exists", [{ value: "kept 2" }]);
    const result = await p.drain();
    expect(result.rejected.map((r) => [r.id, r.error.code])).toEqual([[lost, "UNKNOWN_TOPIC_OR_PARTITION"]]);
    expect(result.sent.map((s) => s.offset)).toEqual([0, 1]);
    expect((await outbox.rejected()).map((r) => [r.id, r.topic, r.error.code])).toEqual([
      [lost, "does-not-exist", "UNKNOWN_TOPIC_OR_PARTITION"],
    ]);
    expect((await stored(server, "exists")).map((r) => r.value)).toEqual(["kept 1", "kept 2"]);
    await p.close();
    outbox.close();
  });
});

describe("the outbox's drain lock", () => {
  it("drains holding the Web Lock edgelog-outbox-<name> when navigator.locks exists", async () => {
    const requested: string[] = [];
    let inside = false;
    const global = globalThis as { navigator?: unknown };
    const before = Object.getOwnPropertyDescriptor(globalThis, "navigator");
    Object.defineProperty(globalThis, "navigator", {
      configurable: true,
      value: {
        locks: {
          async request<T>(name: string, callback: () => Promise<T>): Promise<T> {
            requested.push(name);
            inside = true;
            try {
              return await callback();
            } finally {
              inside = false;
            }
          },
        },
      },
    });
    try {
      const name = outboxName("locked");
      const outbox = await Outbox.open(name);
      const p = new Producer({ url: "http://127.0.0.1:1", outbox });
      const drained = p.drain();
      expect(inside).toBe(true);
      expect(await drained).toEqual({ sent: [], rejected: [] }); // an empty outbox needs no network
      expect(requested).toEqual([`edgelog-outbox-${name}`]);
      await p.close();
      outbox.close();
    } finally {
      if (before) Object.defineProperty(globalThis, "navigator", before);
      else delete global.navigator;
    }
  });
});
