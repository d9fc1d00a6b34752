/**
 * Against a real `wrangler dev`: what a partition stored survives a restart of the local server,
 * because every number the object keeps in memory is rebuilt from SQLite when it starts again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRecords, encodeBatch, splitBatches } from "../../protocol/record-batch";
import { startDevServer, type DevServer } from "../support/dev-server";

const encoder = new TextEncoder();
let server: DevServer;

async function call(path: string, init?: RequestInit & { json?: unknown }) {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    body: init?.json !== undefined ? JSON.stringify(init.json) : init?.body,
    headers: init?.json !== undefined ? { "content-type": "application/json" } : init?.headers,
  });
  const type = res.headers.get("content-type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    body: type.includes("json") ? await res.json() : new Uint8Array(await res.arrayBuffer()),
  };
}

describe("a restarted local server", () => {
  beforeAll(async () => {
    server = await startDevServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("serves every acknowledged record, the next offset, and producer state after a restart", async () => {
    expect((await call("/v1/topics", { method: "POST", json: { name: "restart", partitions: 2 } })).status).toBe(201);
    const json = await call("/v1/topics/restart/records", {
      method: "POST",
      json: {
        records: [
          { value: "a", partition: 0 },
          { value: { n: 1 }, partition: 0 },
          { key: "k", value: "b", partition: 1 },
        ],
      },
    });
    expect(json.body.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
      { partition: 1, offset: 0 },
    ]);
    const { body: producer } = await call("/v1/producers", { method: "POST" });
    const batch = await encodeBatch([{ key: null, value: encoder.encode("idem") }], {
      producerId: producer.producerId,
      producerEpoch: producer.producerEpoch,
      baseSequence: 0,
    });
    const first = await call("/v1/topics/restart/partitions/0/batches", { method: "POST", body: batch.slice() });
    expect(first.body.baseOffset).toBe(2);

    const persistTo = server.persistTo;
    await server.stop();
    server = await startDevServer({ persistTo });

    const described = await call("/v1/topics/restart");
    expect(described.body.partitions.map((p: { highWatermark: number }) => p.highWatermark)).toEqual([3, 1]);
    const fetched = await call("/v1/topics/restart/partitions/0/records?offset=0");
    expect(fetched.body.records.map((r: { offset: number; value: unknown }) => [r.offset, r.value])).toEqual([
      [0, "a"],
      [1, { n: 1 }],
      [2, "idem"],
    ]);
    // The producer's retry after the restart is still recognised: original offset, stored once.
    const retry = await call("/v1/topics/restart/partitions/0/batches", { method: "POST", body: batch.slice() });
    expect(retry.body.batches).toEqual([{ baseOffset: 2, lastOffset: 2, duplicate: true }]);
    const next = await call("/v1/topics/restart/records", { method: "POST", json: { records: [{ value: "c", partition: 0 }] } });
    expect(next.body.offsets).toEqual([{ partition: 0, offset: 3 }]);

    const binary = await call("/v1/topics/restart/partitions/0/batches?offset=0");
    const values = [];
    for (const b of splitBatches(binary.body as Uint8Array)) for (const r of await decodeRecords(b.bytes)) values.push(r.offset);
    expect(values).toEqual([0, 1, 2, 3]);
  }, 120_000);
});
