/**
 * The transactional Producer and read_committed readers (KIP-98) against a real `wrangler dev`:
 * records of a transaction are seen by read_committed readers all at once when it commits and
 * never when it aborts; a newer instance fences the older; offsets sent to a transaction reach
 * the group only when it commits.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { EdgelogError } from "../../protocol/errors";
import { Consumer, type ConsumedBatch } from "../../web-client";
import { Producer, type ProducerOptions } from "../../web-client/producer";
import { Subscription } from "../../web-client/subscription";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson, until } from "../support/http";

let server: DevServer;
const fast = { initialMs: 5, maxMs: 50, attempts: 5 };
const call = (path: string, json?: unknown) => callJson(server.url, path, json);

async function createTopic(name: string, partitions: number) {
  expect((await call("/v1/topics", { name, partitions })).status).toBe(201);
}

function producer(transactionalId: string, options: Partial<ProducerOptions> = {}) {
  return new Producer({ url: server.url, retries: fast, lingerMs: 1, transactionalId, ...options });
}

/** The values of a partition's records as a fetch with this isolation level answers them. */
async function values(topic: string, partition: number, isolation: "read_committed" | "read_uncommitted"): Promise<unknown[]> {
  const { status, body } = await call(
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=1000&isolation=${isolation}`,
  );
  expect(status).toBe(200);
  return body.records.map((r: { value: unknown }) => r.value);
}

/** Runs a read_committed consumer of a fresh group until stopped; what it got, per "topic/partition". */
function committedConsumer(groupId: string, topics: string[], transport: "http" | "websocket" = "http") {
  const seen: string[] = [];
  const consumer = new Consumer({
    url: server.url,
    groupId,
    topics,
    isolation: "read_committed",
    maxWaitMs: 100,
    transport,
    ...(transport === "websocket" ? { WebSocket: WebSocket as never } : {}),
  });
  const running = consumer.run({
    eachBatch: async (batch: ConsumedBatch) => {
      for (const r of batch.records) seen.push(`${batch.topic}/${batch.partition}:${String(r.value)}`);
    },
  });
  return { seen, consumer, stop: () => consumer.stop().then(() => running) };
}

describe("the transactional producer", () => {
  beforeAll(async () => {
    server = await startDevServer();
    await createTopic("tx-a", 2);
    await createTopic("tx-b", 1);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("makes 3 partitions of 2 topics visible to read_committed readers only at commit, all at once", async () => {
    const p = producer("tx-commit");
    const c = committedConsumer("tx-commit-readers", ["tx-a", "tx-b"]);
    try {
      await p.beginTransaction();
      const sent = await Promise.all([
        p.send("tx-a", [{ value: "a0", partition: 0 }]),
        p.send("tx-a", [{ value: "a1", partition: 1 }]),
        p.send("tx-b", [{ value: "b0", partition: 0 }]),
      ]);
      expect(sent.flat().map((m) => m.offset)).toEqual([0, 0, 0]);
      // Acknowledged, but not committed: read_uncommitted sees them, read_committed does not.
      expect(await values("tx-a", 0, "read_uncommitted")).toEqual(["a0"]);
      expect(await values("tx-a", 0, "read_committed")).toEqual([]);
      expect(await values("tx-b", 0, "read_committed")).toEqual([]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(c.seen).toEqual([]);

      await p.commitTransaction();
      expect(await values("tx-a", 0, "read_committed")).toEqual(["a0"]);
      expect(await values("tx-a", 1, "read_committed")).toEqual(["a1"]);
      expect(await values("tx-b", 0, "read_committed")).toEqual(["b0"]);
      await until(() => c.seen.length === 3, 30_000);
      expect(c.seen.sort()).toEqual(["tx-a/0:a0", "tx-a/1:a1", "tx-b/0:b0"]);
    } finally {
      await c.stop();
      await p.close();
    }
  }, 90_000);

  it("aborts: read_committed readers never see the records, read_uncommitted ones do, and the next transaction commits", async () => {
    await createTopic("tx-abort", 1);
    const p = producer("tx-abort");
    await p.beginTransaction();
    await p.send("tx-abort", [{ value: "gone-1" }, { value: "gone-2" }]);
    await p.abortTransaction();
    await p.beginTransaction();
    await p.send("tx-abort", [{ value: "kept" }]);
    await p.commitTransaction();
    await p.close();

    expect(await values("tx-abort", 0, "read_uncommitted")).toEqual(["gone-1", "gone-2", "kept"]);
    expect(await values("tx-abort", 0, "read_committed")).toEqual(["kept"]);
    // Over HTTP: the binary fetch, filtered by the client with the aborted transactions the
    // server names; over the group socket: filtered by the session.
    for (const transport of ["http", "websocket"] as const) {
      const c = committedConsumer(`tx-abort-readers-${transport}`, ["tx-abort"], transport);
      try {
        await until(() => c.seen.length >= 1, 30_000);
        await new Promise((r) => setTimeout(r, 500));
        expect(c.seen, transport).toEqual(["tx-abort/0:kept"]);
      } finally {
        await c.stop();
      }
    }
  }, 90_000);

  it("is fenced by a newer instance with the same transactionalId: its send and commit reject with PRODUCER_FENCED, and so does every later call", async () => {
    await createTopic("tx-fence", 1);
    const old = producer("tx-fence");
    await old.beginTransaction();
    await old.send("tx-fence", [{ value: "zombie-1" }]);

    const newer = producer("tx-fence");
    await newer.initTransactions(); // bumps the epoch: the old instance's transaction is aborted

    const code = (err: unknown) => (err instanceof EdgelogError ? err.code : String(err));
    await expect(old.send("tx-fence", [{ value: "zombie-2" }]).catch(code)).resolves.toBe("PRODUCER_FENCED");
    await expect(old.commitTransaction().catch(code)).resolves.toBe("PRODUCER_FENCED");
    await expect(old.beginTransaction().catch(code)).resolves.toBe("PRODUCER_FENCED");
    await expect(old.abortTransaction().catch(code)).resolves.toBe("PRODUCER_FENCED");

    await newer.beginTransaction();
    await newer.send("tx-fence", [{ value: "current" }]);
    await newer.commitTransaction();
    await newer.close();
    await old.close();
    expect(await values("tx-fence", 0, "read_committed")).toEqual(["current"]);
  }, 60_000);

  it("commits the group's offsets sent to a transaction only when it commits, never when it aborts", async () => {
    await createTopic("tx-offsets", 1);
    const offsetsOf = async (group: string) => {
      const { status, body } = await call(`/v1/groups/${group}/offsets`);
      return status === 200
        ? body.offsets.map((o: { topic: string; partition: number; offset: number }) => [o.topic, o.partition, o.offset])
        : [];
    };
    const p = producer("tx-offsets");
    await p.beginTransaction();
    await p.send("tx-offsets", [{ value: "out" }]);
    await p.sendOffsets("tx-offsets-group", [{ topic: "tx-a", partition: 0, offset: 1 }]);
    expect(await offsetsOf("tx-offsets-group")).toEqual([]);
    await p.abortTransaction();
    expect(await offsetsOf("tx-offsets-group")).toEqual([]);

    await p.beginTransaction();
    await p.sendOffsets("tx-offsets-group", [{ topic: "tx-a", partition: 0, offset: 1, metadata: "processed" }]);
    expect(await offsetsOf("tx-offsets-group")).toEqual([]);
    await p.commitTransaction();
    expect(await offsetsOf("tx-offsets-group")).toEqual([["tx-a", 0, 1]]);
    await p.close();
  }, 60_000);

  it("keeps Kafka's rules once transactions are used: no send outside a transaction, no second begin; transaction calls need a transactionalId", async () => {
    await createTopic("tx-rules", 1);
    const p = producer("tx-rules");
    const code = (err: unknown) => (err instanceof EdgelogError ? err.code : (err as Error).name);
    // Before initTransactions(), a transactionalId producer sends as an idempotent one.
    await p.send("tx-rules", [{ value: "plain" }]);
    await p.initTransactions();
    await expect(p.send("tx-rules", [{ value: "x" }]).catch(code)).resolves.toBe("INVALID_TXN_STATE");
    await expect(p.commitTransaction().catch(code)).resolves.toBe("INVALID_TXN_STATE");
    await p.beginTransaction();
    await expect(p.beginTransaction().catch(code)).resolves.toBe("INVALID_TXN_STATE");
    await p.abortTransaction(); // nothing was added: ends without a request
    await expect(p.send("tx-rules", [{ value: "y" }]).catch(code)).resolves.toBe("INVALID_TXN_STATE");
    await p.close();
    expect(await values("tx-rules", 0, "read_committed")).toEqual(["plain"]);

    const plain = new Producer({ url: server.url });
    await expect(plain.beginTransaction().catch(code)).resolves.toBe("TypeError");
    await expect(plain.sendOffsets("g", []).catch(code)).resolves.toBe("TypeError");
    await plain.close();
    expect(() => producer("x", { acks: 1 })).toThrow(TypeError);
    expect(() => new Producer({ url: server.url, transactionTimeoutMs: 1000 })).toThrow(TypeError);
  });

  it("sends transaction.timeout.ms: a transaction left open longer is aborted by the server", async () => {
    await createTopic("tx-timeout", 1);
    const p = producer("tx-timeout", { transactionTimeoutMs: 1_000 });
    await p.beginTransaction();
    await p.send("tx-timeout", [{ value: "abandoned" }]);
    // The server aborts it on its own; a read_committed fetch then moves past it.
    await until(
      async () => (await call("/v1/topics/tx-timeout/partitions/0/records?offset=0&isolation=read_committed")).body.lastStableOffset > 0,
      30_000,
    );
    expect(await values("tx-timeout", 0, "read_committed")).toEqual([]);
    await p.close();
  }, 60_000);

  it("a read_committed Subscription receives only committed records, in order", async () => {
    await createTopic("tx-sub", 1);
    const seen: unknown[] = [];
    const sub = new Subscription({
      url: server.url,
      topic: "tx-sub",
      partition: 0,
      offset: 0,
      isolation: "read_committed",
      WebSocket: WebSocket as never,
      onRecords: (records) => {
        for (const r of records) seen.push(r.value);
      },
    });
    sub.start();
    const p = producer("tx-sub");
    try {
      await p.beginTransaction();
      await p.send("tx-sub", [{ value: "aborted" }]);
      await p.abortTransaction();
      await p.beginTransaction();
      await p.send("tx-sub", [{ value: "c1" }, { value: "c2" }]);
      await new Promise((r) => setTimeout(r, 500));
      expect(seen).toEqual([]);
      await p.commitTransaction();
      await until(() => seen.length >= 2, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual(["c1", "c2"]);
    } finally {
      sub.close();
      await p.close();
    }
  }, 60_000);
});
