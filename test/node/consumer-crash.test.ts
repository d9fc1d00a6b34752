/**
 * Regression: the client never crashes its host. A bench run died of an unhandled rejection (an
 * AbortError from a partition read that a rebalance aborted while its body was still arriving).
 *
 * A group of consumers, over each transport, is driven through repeated rebalances (members
 * joining, stopping in the middle of a read, joining again) and a restart of the server (stopped,
 * then started on the same state directory and port while the consumers keep running). Any
 * `unhandledRejection` or `uncaughtException` in this process fails the test, and so does a
 * consumer whose run() rejected: a rebalance or a restart is not the consumer's failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import { Consumer, type ConsumedBatch } from "../../web-client";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callJson, until } from "../support/http";
import { CONSUMER_TRANSPORTS } from "../support/transports";

let server: DevServer;
const escaped: { kind: string; error: unknown }[] = [];
const onRejection = (error: unknown) => escaped.push({ kind: "unhandledRejection", error });
const onException = (error: unknown) => escaped.push({ kind: "uncaughtException", error });

const PARTITIONS = 4;
// Large values, so a fetch's body takes a while to arrive and an abort can land in the middle of it.
const value = new Uint8Array(4_000).fill(120);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The real fetch, over a slow link: a response's body arrives a chunk every few milliseconds (as
 * on a phone), so a rebalance or stop() often aborts a read while its body is still arriving.
 */
const slowBodies: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (!res.body) return res;
  const paced = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        await sleep(3);
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(paced, { status: res.status, statusText: res.statusText, headers: res.headers });
};

/** Fails (instead of hanging the suite) when `promise` never settles. */
async function bounded<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} never settled`)), ms)));
  return Promise.race([promise, never]).finally(() => clearTimeout(timer));
}

beforeAll(async () => {
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  server = await startDevServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
});

/** Appends `batches` batches of 250 records to every partition; answers each partition's high watermark. */
async function produce(topic: string, batches: number): Promise<number[]> {
  const bytes = await encodeBatch(Array.from({ length: 250 }, () => ({ key: null, value })));
  const ends: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let b = 0; b < batches; b++) {
      const res = await fetch(`${server.url}/v1/topics/${topic}/partitions/${p}/batches`, {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.record-batch.v2" },
        body: bytes.slice(),
      });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { batches: { lastOffset: number }[] };
      ends[p] = answer.batches[0].lastOffset + 1;
    }
  }
  return ends;
}

describe.each(CONSUMER_TRANSPORTS)("consumers over %s", (transportName, transport) => {
  it("survive repeated rebalances, stop() during reads and a server restart without an unhandled rejection, and read every record", async () => {
    const topic = `crash-${transportName}`;
    const group = `crash-group-${transportName}`;
    expect((await callJson(server.url, "/v1/topics", { name: topic, partitions: PARTITIONS })).status).toBe(201);
    let ends = await produce(topic, 4);

    const seen = new Set<string>();
    const failures: unknown[] = [];
    const live: { consumer: Consumer; run: Promise<void> }[] = [];
    const eachBatch = async (batch: ConsumedBatch) => {
      for (const r of batch.records) seen.add(`${batch.partition}/${r.offset}`);
      if (Math.random() < 0.3) await sleep(5); // a handler that takes a moment, so stops land mid-batch
    };
    const join = () => {
      const consumer = new Consumer({
        url: server.url,
        groupId: group,
        topics: [topic],
        maxWaitMs: 100,
        sessionTimeoutMs: 10_000,
        fetch: slowBodies,
        ...transport,
      });
      // Handled here, so that a rejection is counted as the consumer's failure, not an escaped one.
      const run = consumer.run({ eachBatch }).catch((err) => void failures.push(err));
      live.push({ consumer, run });
      return consumer;
    };
    const leave = async (i: number) => {
      const [gone] = live.splice(i, 1);
      await bounded(gone.consumer.stop(), "stop()");
      await gone.run;
    };

    // Rebalances: each round a member joins while the group is reading, and another stops.
    join();
    join();
    for (let round = 0; round < 4; round++) {
      const before = seen.size;
      const newcomer = join();
      await until(() => newcomer.assignment.length > 0 || seen.size > before + 500, 30_000);
      await leave(round % 2 === 0 ? 0 : live.length - 2);
      if (round === 1) ends = await produce(topic, 2);
    }

    // A restart while the members read: every connection drops, requests fail, then it is back.
    ends = await produce(topic, 2);
    const persistTo = server.persistTo;
    const port = server.port;
    await server.stop();
    await sleep(1_000);
    server = await startDevServer({ persistTo, port });
    ends = await produce(topic, 1);

    // One more rebalance after the restart, then everything stored is read.
    join();
    await leave(0);
    const all = () => ends.every((end, p) => Array.from({ length: end }, (_, o) => seen.has(`${p}/${o}`)).every(Boolean));
    await until(all, 90_000, 200);
    while (live.length > 0) await leave(0);

    expect(failures).toEqual([]);
    expect(escaped).toEqual([]);
  }, 300_000);
});
