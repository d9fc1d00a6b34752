/**
 * Client quotas against a real `wrangler dev` with auth on: a principal producing at twice its
 * producer_byte_rate is held to that rate (the client's producer waits out each throttleTimeMs and
 * loses nothing), while another principal writing to the same topic at the same time is not held
 * at all; a consumer over its consumer_byte_rate still reads everything, and a push socket is
 * slowed to the rate but never closed.
 *
 * This asserts a rate, which the issue asks for; the window is 10 s and the bound ±20%, wide
 * enough for this machine's drift (the rate comes from the quota, not from the machine's speed).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Consumer } from "../../web-client/consumer";
import WebSocket from "ws";
import { Producer } from "../../web-client/producer";
import { Subscription } from "../../web-client/subscription";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callingAs, until } from "../support/http";

const TOKEN = "quota-test-admin-token";
let server: DevServer;

const admin = callingAs(() => server.url, TOKEN);

async function principal(name: string, acls: { resourceType: string; resourceName: string; operation: string }[]) {
  const key = await admin("/v1/admin/keys", { principal: `User:${name}` });
  expect(key.status).toBe(201);
  for (const acl of acls) expect((await admin("/v1/admin/acls", { principal: `User:${name}`, ...acl })).status).toBe(201);
  return key.body.secret as string;
}

const VALUE_BYTES = 1_000;
const value = (i: number) => `${String(i).padStart(8, "0")}${"v".repeat(VALUE_BYTES - 8)}`;

/**
 * Offers `bytesPerSecond` of 1,000-byte records for `seconds` (one send every tick, not waiting
 * for the answers) and answers when each send was acknowledged (ms since the start).
 */
async function offer(producer: Producer, topic: string, bytesPerSecond: number, seconds: number) {
  const everyMs = (VALUE_BYTES / bytesPerSecond) * 1000;
  const start = Date.now();
  const acked: number[] = [];
  const sends: Promise<unknown>[] = [];
  for (let i = 0; Date.now() - start < seconds * 1000; i++) {
    sends.push(producer.send(topic, [{ value: value(i) }]).then(() => acked.push(Date.now() - start)));
    const next = start + (i + 1) * everyMs;
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  await Promise.all(sends);
  return { acked, offered: sends.length };
}

/** A fetch that counts the 429 answers it receives. */
function counting() {
  let throttled = 0;
  const wrapped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (res.status === 429) throttled++;
    return res;
  };
  return { fetch: wrapped, throttled: () => throttled };
}

describe("client quotas", () => {
  beforeAll(async () => {
    server = await startDevServer({ vars: { EDGELOG_TOKEN: TOKEN } });
    expect((await admin("/v1/topics", { name: "metered", partitions: 1 })).status).toBe(201);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("a producer at twice its producer_byte_rate is held to the rate within ±20% over 10 s, and another principal is not held", async () => {
    const rate = 20_000;
    const write = [{ resourceType: "topic", resourceName: "metered", operation: "Write" }];
    const [slow, free] = [await principal("metered-device", write), await principal("free-device", write)];
    expect((await admin("/v1/admin/quotas/User:metered-device", { producer_byte_rate: rate }, "PUT")).status).toBe(200);

    const options = { url: server.url, lingerMs: 0, batchBytes: 4_096, retries: { initialMs: 20, maxMs: 200, attempts: 5 } };
    const [a, b] = [counting(), counting()];
    const metered = new Producer({ ...options, token: slow, fetch: a.fetch });
    const unmetered = new Producer({ ...options, token: free, fetch: b.fetch });
    const seconds = 12;
    const [held, other] = await Promise.all([offer(metered, "metered", 2 * rate, seconds), offer(unmetered, "metered", 2 * rate, seconds)]);
    await Promise.all([metered.close(), unmetered.close()]);

    // Steady state: acknowledged bytes between 1 s and 11 s (the first second spends the burst).
    const within = (acked: number[]) => acked.filter((t) => t >= 1_000 && t < 11_000).length * VALUE_BYTES;
    const heldRate = within(held.acked) / 10;
    expect(heldRate).toBeGreaterThanOrEqual(rate * 0.8);
    expect(heldRate).toBeLessThanOrEqual(rate * 1.2);
    // Everything it offered was stored in the end: throttling delays, never drops.
    expect(a.throttled()).toBeGreaterThan(0);
    expect(held.acked).toHaveLength(held.offered);
    expect(b.throttled()).toBe(0);
    // The other principal was answered at what it offered (twice the first one's quota).
    expect(within(other.acked) / 10).toBeGreaterThanOrEqual(2 * rate * 0.8);

    // Both streams are in the log, once each.
    const stored = await admin("/v1/topics/metered/partitions/0/offsets?timestamp=latest");
    expect(stored.body.offset).toBe(held.offered + other.offered);
  }, 60_000);

  it("a group consumer over its consumer_byte_rate waits out each throttle and still reads every record once", async () => {
    const name = "metered-reader";
    const secret = await principal(name, [
      { resourceType: "topic", resourceName: "metered", operation: "Read" },
      { resourceType: "group", resourceName: "metered-readers", operation: "Read" },
    ]);
    expect((await admin(`/v1/admin/quotas/User:${name}`, { consumer_byte_rate: 200_000 }, "PUT")).status).toBe(200);
    const total = (await admin("/v1/topics/metered/partitions/0/offsets?timestamp=latest")).body.offset as number;

    const seen = new Set<number>();
    let duplicates = 0;
    const counted = counting();
    const consumer = new Consumer({
      url: server.url,
      token: secret,
      groupId: "metered-readers",
      topics: ["metered"],
      transport: "http",
      maxBytes: 64 * 1024,
      fetch: counted.fetch,
    });
    await consumer.run({
      eachBatch: async ({ records }) => {
        for (const r of records) {
          if (seen.has(r.offset)) duplicates++;
          seen.add(r.offset);
        }
        if (seen.size >= total) void consumer.stop();
      },
    });
    expect(seen.size).toBe(total);
    expect(duplicates).toBe(0);
    expect(counted.throttled()).toBeGreaterThan(0); // it was held, and waited rather than failed
  }, 60_000);

  it("a push socket over its consumer_byte_rate is slowed to the rate, never closed, and gets every record in order", async () => {
    const name = "metered-tail";
    const secret = await principal(name, [{ resourceType: "topic", resourceName: "metered-push", operation: "Read" }]);
    const rate = 100_000;
    expect((await admin(`/v1/admin/quotas/User:${name}`, { consumer_byte_rate: rate }, "PUT")).status).toBe(200);
    expect((await admin("/v1/topics", { name: "metered-push", partitions: 1 })).status).toBe(201);
    const total = 300;
    // Small batches (10 KB): a frame holds whole batches, so they set how finely the meter paces.
    for (let i = 0; i < total; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => ({ value: value(i + j) }));
      expect((await admin("/v1/topics/metered-push/records", { records: batch })).status).toBe(200);
    }

    const offsets: number[] = [];
    let ended: unknown = null;
    const start = Date.now();
    const sub = new Subscription({
      url: server.url,
      topic: "metered-push",
      partition: 0,
      offset: 0,
      token: secret,
      WebSocket: WebSocket as never,
      onRecords: (records) => {
        offsets.push(...records.map((r) => r.offset));
      },
      onEnd: (reason) => {
        ended = reason;
      },
    });
    sub.start();
    await until(() => offsets.length >= total, 30_000);
    const elapsed = Date.now() - start;
    expect(ended).toBeNull();
    sub.close();
    expect(offsets).toEqual(Array.from({ length: total }, (_, i) => i));
    // About total × 1 KB at 100 KB/s, less the one second of burst the meter allows (and the last frame).
    const bytes = total * VALUE_BYTES;
    expect(elapsed).toBeGreaterThanOrEqual(((bytes - rate) / rate) * 1000 * 0.8);
  }, 60_000);
});
