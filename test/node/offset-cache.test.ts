/**
 * Offsets cached in IndexedDB (fake-indexeddb in Node; the browser test uses the real one): a
 * consumer resumes from the newer of its cache and the group's commit, and an administrator's
 * reset wins over the cache.
 */
import "fake-indexeddb/auto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Consumer, OffsetCache, type ConsumedBatch } from "../../web-client";
import { startDevServer, type DevServer } from "../support/dev-server";
import { CONSUMER_TRANSPORTS } from "../support/transports";
import { callJson } from "../support/http";

describe("OffsetCache.resume", () => {
  it.each([
    ["nothing known", undefined, undefined, undefined],
    ["only a commit", undefined, { offset: 5, resetId: 0 }, { offset: 5, resetId: 0 }],
    ["only the cache", { offset: 7, resetId: 0 }, undefined, { offset: 7, resetId: 0 }],
    ["the cache ahead of the commit", { offset: 9, resetId: 1 }, { offset: 4, resetId: 1 }, { offset: 9, resetId: 1 }],
    ["the commit ahead of the cache", { offset: 3, resetId: 1 }, { offset: 8, resetId: 1 }, { offset: 8, resetId: 1 }],
    ["a reset the cache has not seen, even backwards", { offset: 50, resetId: 0 }, { offset: 0, resetId: 1 }, { offset: 0, resetId: 1 }],
  ])("with %s picks the right start", (_title, cached, committed, expected) => {
    expect(OffsetCache.resume(cached, committed)).toEqual(expected);
  });

  it("never moves a cached offset backwards within one reset, but a newer reset replaces it", async () => {
    const cache = await OffsetCache.open(`unit-${Date.now()}`);
    const tp = { topic: "t", partition: 0 };
    await cache.put("g", tp, { offset: 10, resetId: 0 });
    await cache.put("g", tp, { offset: 4, resetId: 0 });
    expect(await cache.get("g", tp)).toEqual({ offset: 10, resetId: 0 });
    await cache.put("g", tp, { offset: 2, resetId: 1 });
    expect(await cache.get("g", tp)).toEqual({ offset: 2, resetId: 1 });
    cache.close();
  });
});

describe("a consumer with an offset cache, against a real server", () => {
  let server: DevServer;
  beforeAll(async () => {
    server = await startDevServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  // One suite, two transports (test/support/transports.ts).
  describe.each(CONSUMER_TRANSPORTS)("over %s", (name, transport) => {
    const group = `page-${name}`;
    const topic = `feed-${name}`;

    const call = (path: string, json?: unknown) => callJson(server.url, path, json);

    /** Runs a consumer until it has seen `count` records (bounded), then stops it. */
    async function consume(cache: OffsetCache, count: number, autoCommit: boolean): Promise<number[]> {
      const seen: number[] = [];
      const consumer = new Consumer({
        url: server.url,
        groupId: group,
        topics: [topic],
        offsetCache: cache,
        autoCommit,
        maxWaitMs: 100,
        ...transport,
      });
      const run = consumer.run({ eachBatch: async (b: ConsumedBatch) => void seen.push(...b.records.map((r) => r.offset)) });
      const deadline = Date.now() + 15_000;
      while (seen.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      await new Promise((r) => setTimeout(r, 300)); // anything extra would show up here
      await consumer.stop();
      await run;
      return seen;
    }

    it("resumes from the cache when its commits did not land, and from the commit after an administrator's reset", async () => {
      await call("/v1/topics", { name: topic, partitions: 1 });
      await call(`/v1/topics/${topic}/records`, { records: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, partition: 0 })) });
      const cache = await OffsetCache.open(`${group}-${Date.now()}`);

      // First visit: reads everything but its commits never reach the group.
      expect(await consume(cache, 10, false)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect((await call(`/v1/groups/${group}/offsets`)).body.offsets).toEqual([]);

      // Reload: the cache is ahead of the (missing) commit, so nothing is shown twice.
      await call(`/v1/topics/${topic}/records`, { records: [{ value: "r10", partition: 0 }] });
      expect(await consume(cache, 1, true)).toEqual([10]);

      // An administrator rewinds the (now empty) group: the reset wins over the cache.
      const reset = await call(`/v1/groups/${group}/offsets/reset`, { topics: [topic], to: { offset: 3 } });
      expect(reset.status).toBe(200);
      expect(await consume(cache, 8, true)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await cache.get(group, { topic, partition: 0 })).toEqual({ offset: 11, resetId: reset.body.resetId });
      cache.close();
    }, 90_000);
  });
});
