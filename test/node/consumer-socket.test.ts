/**
 * The group consumer over its one group socket, against a real `wrangler dev`: every assigned
 * partition over one connection, rebalances followed without reconnecting, tabs sharing one
 * IndexedDB that never fence each other, a member kept alive by its session with no timer of its
 * own, and a restart of the server resumed without loss or duplicates.
 */
import "fake-indexeddb/auto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Consumer, OffsetCache, type ConsumedBatch, type ConsumerOptions } from "../../web-client";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson, until } from "../support/http";

let server: DevServer;
const call = (path: string, json?: unknown, method?: string) => callJson(server.url, path, json, method);

beforeAll(async () => {
  server = await startDevServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

/** A `ws` WebSocket that records the URL of every connection it opens. */
function countingWebSocket() {
  const urls: string[] = [];
  class Counting extends WebSocket {
    constructor(url: string) {
      super(url);
      urls.push(url);
    }
  }
  return { urls, WebSocket: Counting as never };
}

/** Creates a topic of `partitions` with `count` records round-robin over them. */
async function createTopic(name: string, partitions: number, count = 0): Promise<void> {
  expect((await call("/v1/topics", { name, partitions })).status).toBe(201);
  if (count > 0) await produce(name, partitions, count);
}

/** Produces `count` records round-robin over `partitions`, values "v<i>". */
async function produce(topic: string, partitions: number, count: number, from = 0): Promise<void> {
  const records = Array.from({ length: count }, (_, k) => ({ value: `v${from + k}`, partition: (from + k) % partitions }));
  expect((await call(`/v1/topics/${topic}/records`, { records })).status).toBe(200);
}

/** Every record each consumer handled, and checks over them. */
function collector() {
  const seen: { consumer: number; partition: number; offset: number }[] = [];
  /** `delayMs`: a slow handler, so that frames queue up behind it. */
  const handler =
    (consumer: number, delayMs = 0) =>
    async (batch: ConsumedBatch) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      for (const r of batch.records) seen.push({ consumer, partition: batch.partition, offset: r.offset });
    };
  /** Each of `count` records once, and per partition in offset order from 0. */
  const expectExactlyOnce = (partitions: number, count: number) => {
    const keys = seen.map((s) => `${s.partition}/${s.offset}`);
    expect(new Set(keys).size, "a record handled twice").toBe(keys.length);
    expect(keys).toHaveLength(count);
    for (let p = 0; p < partitions; p++) {
      const offsets = seen.filter((s) => s.partition === p).map((s) => s.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i));
    }
  };
  return { seen, handler, expectExactlyOnce };
}

const consumer = (options: Partial<ConsumerOptions> & Pick<ConsumerOptions, "groupId" | "topics">) =>
  new Consumer({ url: server.url, transport: "websocket", WebSocket: WebSocket as never, ...options });

describe("the group consumer over its group socket", () => {
  it("reads every assigned partition over one connection to its member's subscription", async () => {
    await createTopic("one-socket", 4, 200);
    const { seen, handler, expectExactlyOnce } = collector();
    const ws = countingWebSocket();
    const c = consumer({ groupId: "one-socket", topics: ["one-socket"], WebSocket: ws.WebSocket });
    const run = c.run({ eachBatch: handler(0) });
    await until(() => seen.length >= 200);
    await produce("one-socket", 4, 40, 200);
    await until(() => seen.length >= 240);
    expect(c.assignment).toHaveLength(4);
    expect(ws.urls).toHaveLength(1);
    expect(new URL(ws.urls[0]).pathname).toBe(`/v1/groups/one-socket/members/${c.memberId}/subscribe`);
    await c.stop();
    await run;
    expectExactlyOnce(4, 240);
    // Everything was committed as it went, and the member left.
    const described = (await call("/v1/groups/one-socket")).body;
    expect(described.members).toEqual([]);
    expect(described.partitions.map((p: { committed: number }) => p.committed)).toEqual([60, 60, 60, 60]);
  }, 60_000);

  it("follows a rebalance when a second consumer joins, on the socket it has: partitions move and each record is read once", async () => {
    await createTopic("rebalance", 4, 200);
    const { seen, handler, expectExactlyOnce } = collector();
    const wsA = countingWebSocket();
    const a = consumer({ groupId: "rebalance", topics: ["rebalance"], WebSocket: wsA.WebSocket, sessionTimeoutMs: 6_000 });
    const runA = a.run({ eachBatch: handler(0, 5) });
    await until(() => seen.length >= 200 && a.assignment.length === 4);
    const b = consumer({ groupId: "rebalance", topics: ["rebalance"], sessionTimeoutMs: 6_000 });
    const runB = b.run({ eachBatch: handler(1) });
    // Records keep coming while the partitions move, and queue up behind A's slow handler.
    for (let round = 0; round < 50; round++) await produce("rebalance", 4, 4, 200 + round * 4);
    await until(() => a.assignment.length === 2 && b.assignment.length === 2, 30_000);
    await produce("rebalance", 4, 40, 400);
    await until(() => seen.length >= 440, 30_000);
    const mine = [a.assignment, b.assignment].map((tps) => tps.map((tp) => tp.partition).sort());
    expect([...mine[0], ...mine[1]].sort()).toEqual([0, 1, 2, 3]);
    expect(wsA.urls).toHaveLength(1);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([runA, runB]);
    expectExactlyOnce(4, 440);
    // B read only partitions it was handed, and only from where A's commit left them.
    expect(seen.filter((s) => s.consumer === 1).every((s) => mine[1].includes(s.partition))).toBe(true);
  }, 90_000);

  // Regression: the frame revoking partitions waited behind every records frame received before
  // it, each handled (and its commit refused for the old generation) first; with a backlog the
  // session's release deadline passed, the partitions moved without the member's last commit,
  // and the new owner read again what the old one had handled.
  it("hands revoked partitions over after the batch in hand, not after the records queued behind it: the new owner starts where the old one stopped", async () => {
    await createTopic("revoke-ahead", 4, 200);
    const { seen, handler, expectExactlyOnce } = collector();
    let revocationReceived = false;
    class Watching extends WebSocket {
      constructor(url: string) {
        super(url);
        this.addEventListener("message", (event) => {
          const frame = JSON.parse(String(event.data));
          if (frame.type === "assignment" && frame.revoked.length > 0) revocationReceived = true;
        });
      }
    }
    let bJoined = false;
    let afterRevocation = 0;
    const record = handler(0);
    let b: Consumer | null = null;
    const a = consumer({ groupId: "revoke-ahead", topics: ["revoke-ahead"], WebSocket: Watching as never, sessionTimeoutMs: 6_000 });
    const runA = a.run({
      eachBatch: async (batch) => {
        if (bJoined) {
          // Hold the batch in hand until the revocation has arrived behind it, with records queued
          // between the two; any batch handled after that one must wait for the handover, which
          // only the revocation frame can start.
          await until(() => revocationReceived, 30_000);
          if (afterRevocation++ > 0) await until(() => b!.assignment.length === 2, 30_000);
        }
        await record(batch);
      },
    });
    await until(() => seen.length >= 200 && a.assignment.length === 4);
    bJoined = true;
    b = consumer({ groupId: "revoke-ahead", topics: ["revoke-ahead"], sessionTimeoutMs: 6_000 });
    const runB = b.run({ eachBatch: handler(1) });
    let produced = 200;
    while (!revocationReceived) {
      await produce("revoke-ahead", 4, 4, produced);
      produced += 4;
    }
    await until(() => a.assignment.length === 2 && b!.assignment.length === 2, 30_000);
    await produce("revoke-ahead", 4, 40, produced);
    produced += 40;
    await until(() => seen.length >= produced, 30_000);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all([runA, runB]);
    expectExactlyOnce(4, produced);
  }, 90_000);

  it("two tabs of one app sharing one IndexedDB are two members: both progress, neither fences the other, and the cache ends at the end", async () => {
    await createTopic("tabs", 4);
    const db = `tabs-${Date.now()}`;
    const [cacheA, cacheB] = [await OffsetCache.open(db), await OffsetCache.open(db)];
    const { seen, handler, expectExactlyOnce } = collector();
    const a = consumer({ groupId: "tabs", topics: ["tabs"], offsetCache: cacheA });
    const b = consumer({ groupId: "tabs", topics: ["tabs"], offsetCache: cacheB });
    const runs = [a.run({ eachBatch: handler(0) }), b.run({ eachBatch: handler(1) })];
    await until(() => a.memberId !== null && b.memberId !== null);
    const members = [a.memberId, b.memberId];
    await until(() => a.assignment.length === 2 && b.assignment.length === 2, 30_000);
    await produce("tabs", 4, 400);
    await until(() => seen.length >= 400, 30_000);
    expect(new Set(seen.map((s) => s.consumer))).toEqual(new Set([0, 1]));
    expect([a.memberId, b.memberId]).toEqual(members); // nobody was fenced and joined again
    for (let p = 0; p < 4; p++) expect(await cacheA.get("tabs", { topic: "tabs", partition: p })).toEqual({ offset: 100, resetId: 0 });
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all(runs);
    expectExactlyOnce(4, 400);
    cacheA.close();
    cacheB.close();
  }, 90_000);

  it("keeps its partitions with no request of its own while the socket is open, as a hidden tab with throttled timers would", async () => {
    await createTopic("hidden", 2);
    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    };
    const { seen, handler } = collector();
    const c = consumer({ groupId: "hidden", topics: ["hidden"], sessionTimeoutMs: 1_000, fetch: counting });
    const run = c.run({ eachBatch: handler(0) });
    await until(() => c.assignment.length === 2);
    const memberId = c.memberId;
    const before = requests.length;
    await new Promise((r) => setTimeout(r, 4_000)); // four session timeouts
    expect(requests.slice(before)).toEqual([]);
    expect(requests.some((r) => r.endsWith("/heartbeat"))).toBe(false);
    const described = (await call("/v1/groups/hidden")).body;
    expect(described.members.map((m: { memberId: string }) => m.memberId)).toEqual([memberId]);
    await produce("hidden", 2, 10);
    await until(() => seen.length >= 10);
    expect(c.memberId).toBe(memberId);
    await c.stop();
    await run;
  }, 60_000);

  it("reconnects after the server restarts and resumes from its positions, with no record lost or handled twice", async () => {
    await createTopic("restart", 2, 100);
    const { seen, handler, expectExactlyOnce } = collector();
    const ws = countingWebSocket();
    const c = consumer({ groupId: "restart", topics: ["restart"], WebSocket: ws.WebSocket, sessionTimeoutMs: 60_000 });
    const run = c.run({ eachBatch: handler(0) });
    await until(() => seen.length >= 100);
    const memberId = c.memberId;
    const { port, persistTo } = server;
    await server.stop();
    server = await startDevServer({ port, persistTo });
    await produce("restart", 2, 100, 100);
    await until(() => seen.length >= 200, 30_000);
    expect(ws.urls.length).toBeGreaterThanOrEqual(2);
    expect(c.memberId).toBe(memberId); // back within the session timeout: the same member
    await c.stop();
    await run;
    expectExactlyOnce(2, 200);
  }, 120_000);
});
