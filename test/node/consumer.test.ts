/**
 * The TypeScript group consumer against a real `wrangler dev`: queue semantics inside a group,
 * publish-subscribe across groups, at-least-once when a member dies, and handover on rebalance.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Consumer, type ConsumedBatch } from "../../web-client";
import { startDevServer, type DevServer } from "../support/dev-server";
import { CONSUMER_TRANSPORTS } from "../support/transports";
import { callJson, until } from "../support/http";

let server: DevServer;

const call = (path: string, json?: unknown, method?: string) => callJson(server.url, path, json, method);

/** Produces `count` records round-robin over `partitions`, values "v<i>"; answers them by partition. */
async function produce(topic: string, partitions: number, count: number, from = 0): Promise<void> {
  const records = Array.from({ length: count }, (_, k) => ({ value: `v${from + k}`, partition: (from + k) % partitions }));
  const res = await call(`/v1/topics/${topic}/records`, { records });
  expect(res.status).toBe(200);
}

/** Runs consumers until `done()` holds (bounded), collecting every record with its consumer. */
function collector() {
  const seen: { consumer: number; partition: number; offset: number; value: unknown }[] = [];
  const handler = (consumer: number) => async (batch: ConsumedBatch) => {
    for (const r of batch.records) seen.push({ consumer, partition: batch.partition, offset: r.offset, value: r.value });
  };
  return { seen, handler };
}

beforeAll(async () => {
  server = await startDevServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

// One suite, two transports (test/support/transports.ts).
describe.each(CONSUMER_TRANSPORTS)("the group consumer over %s", (transportName, transport) => {
  const consumer = (groupId: string, topic: string, extra: Partial<ConstructorParameters<typeof Consumer>[0]> = {}) =>
    new Consumer({
      url: server.url,
      groupId: `${groupId}-${transportName}`,
      topics: [`${topic}-${transportName}`],
      maxWaitMs: 200,
      ...transport,
      ...extra,
    });
  const t = (name: string) => `${name}-${transportName}`;

  it("two consumers of one group split four partitions and read each of 400 records once; a second group reads all 400", async () => {
    await call("/v1/topics", { name: t("orders"), partitions: 4 });
    await produce(t("orders"), 4, 400);
    const { seen, handler } = collector();
    const a = consumer("billing", "orders");
    const b = consumer("billing", "orders");
    const runs = [a.run({ eachBatch: handler(0) }), b.run({ eachBatch: handler(1) })];
    // Settled: each owns two partitions (a lone first member owns all four until the other joins).
    await until(() => seen.length >= 400 && a.assignment.length === 2 && b.assignment.length === 2);
    await until(async () => (await call(`/v1/groups/${t("billing")}`)).body.partitions.every((p: { lag: number }) => p.lag === 0));
    const owners = [a.assignment, b.assignment].map((tps) => tps.map((tp) => tp.partition).sort());
    expect([...owners[0], ...owners[1]].sort()).toEqual([0, 1, 2, 3]);
    expect(owners[0].length).toBe(2);
    await Promise.all([a.stop(), b.stop()]);
    await Promise.all(runs);

    const keys = seen.map((s) => `${s.partition}/${s.offset}`);
    expect(keys.length).toBe(400); // each once: no record read twice
    expect(new Set(keys).size).toBe(400);
    expect(new Set(seen.map((s) => s.value)).size).toBe(400);
    // Per partition, in offset order.
    for (const p of [0, 1, 2, 3]) {
      const offsets = seen.filter((s) => s.partition === p).map((s) => s.offset);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    }

    const other = collector();
    const c = consumer("audit", "orders");
    const run = c.run({ eachBatch: other.handler(0) });
    await until(() => other.seen.length >= 400);
    await c.stop();
    await run;
    expect(new Set(other.seen.map((s) => s.value)).size).toBe(400);
  }, 60_000);

  it("a member that dies without committing loses its partitions to the other, which resumes from the last commit: nothing is skipped", async () => {
    await call("/v1/topics", { name: t("jobs"), partitions: 2 });
    await produce(t("jobs"), 2, 100);
    const { seen, handler } = collector();
    // The survivor first owns both partitions and commits as it goes.
    const survivor = consumer("workers", "jobs", { sessionTimeoutMs: 10_000 });
    const survivorRun = survivor.run({ eachBatch: handler(0) });
    await until(() => seen.length >= 100);
    // A second member (plain HTTP) joins, takes one partition, reads new records, then dies:
    // no commit, no heartbeat, no leave. Only its session timeout (2 s, the group's alarm) ends it.
    const joined = await call(`/v1/groups/${t("workers")}/members`, { topics: [t("jobs")], sessionTimeoutMs: 2_000 });
    const memberId: string = joined.body.memberId;
    let mine: { partition: number }[] = [];
    await until(async () => {
      mine = (await call(`/v1/groups/${t("workers")}/members/${memberId}/heartbeat`, {})).body.assignment;
      return mine.length === 1;
    });
    await produce(t("jobs"), 2, 100, 100);
    const read = await call(`/v1/topics/${t("jobs")}/partitions/${mine[0].partition}/records?offset=50`);
    expect(read.body.records).toHaveLength(50); // processed, never committed
    await until(() => survivor.assignment.length === 2, 30_000);
    await until(() => new Set(seen.map((s) => s.value)).size === 200, 30_000);
    await survivor.stop();
    await survivorRun;
    // The dead member's partition was read again from its last commit (50): nothing skipped.
    expect(seen.filter((s) => s.partition === mine[0].partition && s.offset >= 50)).toHaveLength(50);
  }, 60_000);

  it("a static member that comes back within its session timeout gets the same partitions", async () => {
    await call("/v1/topics", { name: t("tabs"), partitions: 4 });
    const { handler } = collector();
    const a = consumer("ui", "tabs", { instanceId: "tab-a", sessionTimeoutMs: 30_000 });
    const b = consumer("ui", "tabs", { instanceId: "tab-b", sessionTimeoutMs: 30_000 });
    const runs = [a.run({ eachBatch: handler(0) }), b.run({ eachBatch: handler(1) })];
    await until(() => a.assignment.length === 2 && b.assignment.length === 2);
    const before = a.assignment.map((tp) => tp.partition).sort();
    // A page reload: a new member with the same instance id, joining without the old one leaving.
    const aAgain = consumer("ui", "tabs", { instanceId: "tab-a", sessionTimeoutMs: 30_000 });
    const againRun = aAgain.run({ eachBatch: handler(2) });
    await until(() => aAgain.assignment.length === 2);
    expect(aAgain.assignment.map((tp) => tp.partition).sort()).toEqual(before);
    await Promise.all([aAgain.stop(), b.stop()]);
    await a.stop();
    await Promise.allSettled([...runs, againRun]);
  }, 60_000);
});

describe("the group consumer's WebSocket transport", () => {
  const t = (name: string) => `${name}-ws-fallback`;
  const consumer = (groupId: string, topic: string, extra: Partial<ConstructorParameters<typeof Consumer>[0]> = {}) =>
    new Consumer({ url: server.url, groupId: t(groupId), topics: [t(topic)], maxWaitMs: 200, ...extra });

  it("falls back to long-polling when no WebSocket can be opened, and still reads everything", async () => {
    await call("/v1/topics", { name: t("fallback"), partitions: 1 });
    await produce(t("fallback"), 1, 20);
    // A WebSocket that never opens, as behind a proxy that refuses upgrades.
    class Refused {
      readyState = 3;
      #listeners = new Map<string, ((event: { code?: number }) => void)[]>();
      constructor() {
        setTimeout(() => this.#listeners.get("close")?.forEach((l) => l({ code: 1006 })), 5);
      }
      addEventListener(type: string, listener: (event: { code?: number }) => void) {
        this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
      }
      send() {}
      close() {}
    }
    const { seen, handler } = collector();
    const c = consumer("fallback", "fallback", { transport: "websocket", WebSocket: Refused as never });
    const run = c.run({ eachBatch: handler(0) });
    await until(() => seen.length >= 20);
    await c.stop();
    await run;
    expect(seen.map((s) => s.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  }, 60_000);
});
