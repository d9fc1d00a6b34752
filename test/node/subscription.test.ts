/**
 * WebSocket push with a real `wrangler dev`: a subscription receives the stored records, then new
 * ones as they are produced; when the server goes away and comes back it reconnects and resumes
 * where it left off, with nothing lost and nothing handed over twice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Subscription } from "../../web-client/subscription";
import { startDevServer, type DevServer } from "../support/dev-server";
import { until } from "../support/http";

let server: DevServer;

async function produce(topic: string, values: string[]): Promise<void> {
  const res = await fetch(`${server.url}/v1/topics/${topic}/records`, {
    method: "POST",
    body: JSON.stringify({ records: values.map((value) => ({ value, partition: 0 })) }),
  });
  expect(res.status).toBe(200);
}

describe("a WebSocket subscription", () => {
  beforeAll(async () => {
    server = await startDevServer();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("gets stored and new records in order, and resumes after the server restarts with no record lost or repeated", async () => {
    await fetch(`${server.url}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "live", partitions: 1 }) });
    await produce("live", ["a0", "a1", "a2"]);
    const seen: { offset: number; value: unknown }[] = [];
    const sub = new Subscription({
      url: server.url,
      topic: "live",
      partition: 0,
      offset: 1,
      WebSocket: WebSocket as never,
      backoff: { initialMs: 100, maxMs: 500 },
      onRecords: (records) => {
        for (const r of records) seen.push({ offset: r.offset, value: r.value });
      },
    });
    sub.start();
    await until(() => seen.length === 2);
    await produce("live", ["b3", "b4"]);
    await until(() => seen.length === 4);

    // The server goes away (the connection drops) and comes back on the same port and state.
    const { port, persistTo } = server;
    await server.stop();
    server = await startDevServer({ port, persistTo });
    await produce("live", ["c5", "c6"]);
    await until(() => seen.length === 6, 30_000);
    expect(sub.connections).toBeGreaterThanOrEqual(2);
    sub.close();
    expect(seen.map((s) => s.offset)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.map((s) => s.value)).toEqual(["a1", "a2", "b3", "b4", "c5", "c6"]);
  }, 120_000);
});
