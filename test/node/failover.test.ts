/**
 * Failover under a real client against a real `wrangler dev` (started with the fault-injection
 * switch on, as only tests do): the idempotent `Producer` streams records into a topic with three
 * replicas while the partition's leader is made unreachable mid-stream. Every record whose send
 * resolved is stored exactly once, in the order sent; a consumer reading through the failover sees
 * each record once, in order; and a server started without the switch has no such route.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Consumer } from "../../web-client/consumer";
import { Producer } from "../../web-client/producer";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson } from "../support/http";

let server: DevServer;
const call = (path: string, json?: unknown, method?: string) => callJson(server.url, path, json, method);

beforeAll(async () => {
  server = await startDevServer({ vars: { EDGELOG_FAULT_INJECTION: "on" } });
});

afterAll(async () => {
  await server?.stop();
});

async function values(topic: string): Promise<string[]> {
  const out: string[] = [];
  for (let offset = 0; ; ) {
    const { status, body } = await call(`/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000`);
    expect(status, JSON.stringify(body)).toBe(200);
    for (const r of body.records as { offset: number; value: string }[]) {
      expect(r.offset).toBe(offset++);
      out.push(r.value);
    }
    if (body.records.length === 0 || offset >= body.highWatermark) return out;
  }
}

describe("failover with the client producer (replication factor 3)", () => {
  it("a stream of acks=all sends through a leader failure: every resolved send stored once, in order", async () => {
    const topic = `failover-${Date.now()}`;
    const created = await call("/v1/topics", {
      name: topic,
      partitions: 1,
      replicationFactor: 3,
      config: { "min.insync.replicas": 2, "replica.lag.time.max.ms": 500 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const leader = created.body.partitions[0].leader as number;
    const producer = new Producer({
      url: server.url,
      acks: "all",
      lingerMs: 2,
      batchRecords: 50,
      retries: { initialMs: 50, maxMs: 500, attempts: 30 },
    });
    // A group consumer reads along (over HTTP long-polls), through the failover.
    const consumed: { offset: number; value: string }[] = [];
    const consumer = new Consumer({ url: server.url, groupId: `${topic}-readers`, topics: [topic], transport: "http", maxWaitMs: 100 });
    const consuming = consumer.run({
      eachBatch: async ({ records }) => {
        for (const r of records) consumed.push({ offset: r.offset, value: String(r.value) });
      },
    });

    const sent: string[] = [];
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      const value = `r${i}`;
      sends.push(producer.send(topic, [{ value, partition: 0 }]).then(() => sent.push(value)));
      if (i === 300) {
        // Mid-stream: the leader stops answering, as a failed object does.
        const res = await call("/v1/admin/faults", { topic, partition: 0, replica: leader, fault: "unreachable" });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(sends);
    await producer.close();

    const stored = await values(topic);
    expect(stored).toEqual(Array.from({ length: 600 }, (_, i) => `r${i}`));
    expect(sent).toHaveLength(600);
    // The consumer saw each record once, in order, across the change of leader.
    for (let i = 0; i < 200 && consumed.length < 600; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumer.stop();
    await consuming;
    expect(consumed.map((r) => r.value)).toEqual(stored);
    expect(consumed.map((r) => r.offset)).toEqual(stored.map((_, i) => i));
    const after = (await call(`/v1/topics/${topic}`)).body.partitions[0];
    expect(after.leader).not.toBe(leader);
    expect(after.leaderEpoch).toBeGreaterThan(0);

    // The old leader comes back, truncates nothing it should keep, and rejoins.
    await call("/v1/admin/faults", { topic, partition: 0, replica: leader, fault: "none" });
    for (let i = 0; i < 100; i++) {
      if ((await call(`/v1/topics/${topic}`)).body.partitions[0].isr.length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await call(`/v1/topics/${topic}`)).body.partitions[0].isr).toHaveLength(3);
    const region = created.body.partitions[0].regions[0] as string;
    const fromOld = await call(`/v1/topics/${topic}/partitions/0/records?offset=0&maxRecords=10000&region=${region}`);
    expect(fromOld.body.replica).toBe(leader);
    expect((fromOld.body.records as { value: string }[]).map((r) => r.value)).toEqual(stored.slice(0, fromOld.body.records.length));
  });
});

describe("the fault-injection switch in a server started without it", () => {
  it("is a 404 like any unknown route", async () => {
    const plain = await startDevServer();
    try {
      const res = await callJson(plain.url, "/v1/admin/faults", { topic: "t", partition: 0, replica: 0, fault: "unreachable" });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("UNSUPPORTED_VERSION");
    } finally {
      await plain.stop();
    }
  });
});
