/**
 * `npm run bench`: edgelog's throughput and latency against a real local server (`wrangler dev`).
 *
 * Scenarios (100-byte values, one partition — the unit of ordering — with CONCURRENCY requests
 * in flight):
 *   produce-json-b{1,100,1000}    POST /records with 1, 100, 1,000 records per request
 *   produce-binary-b{1,100,1000}  POST /batches with one RecordBatch v2 of 1, 100, 1,000 records
 *   fetch-binary-1M               read a 1,000,000-record partition from offset 0 (binary batches)
 *   fetch-json-1M                 the same partition read as JSON records
 *   push-latency-1000rps          produce one record every millisecond (1,000 records/s, 5 s) while
 *                                 a WebSocket subscriber receives them: produce -> push latency
 *   push-binary-1M                push throughput to one subscriber with binary frames, credit mode
 *   group-consume-1M              a group of 2 consumers (web-client Consumer) draining 1,000,000
 *                                 records over 4 partitions, committing after every batch
 *   compaction-{100k,1M}          a partition of 100,000 / 1,000,000 keyed records over 10,000 keys
 *                                 is loaded, then turned to cleanup.policy=compact: records/s is the
 *                                 log's records over the time until the cleaner has compacted it
 *                                 (its size stops at the latest value per key); the two peaks
 *                                 of resident memory show whether memory grows with the log,
 *                                 and the latencies are those of a reader fetching meanwhile
 *   txn-produce / idem-produce     CONCURRENCY producers, each writing transactions of 10 batches
 *                                 × 1,000 records (add the partition, 10 binary posts, commit),
 *                                 against the same 10 batches from idempotent producers with no
 *                                 transaction, in one run; then the transactional partition read
 *                                 whole as read_committed against read_uncommitted (JSON)
 *   access-{off,on}/…             produce and fetch on two fresh servers, one with auth off and one
 *                                 with auth on, API keys, ACLs and (unlimited) quotas
 *                                 (access-setup.ts), each run BENCH_ACCESS_ROUNDS (5) times per
 *                                 server in alternating turns; the JSON line's `access` gives each
 *                                 scenario's on/off ratio of median records/s
 * Each prints records/s, MB/s of record values, per-request latency percentiles and the server's
 * peak resident memory (its workerd processes), as a table and then one JSON line.
 *
 * Options (env): BENCH_ONLY (comma-separated scenario prefixes, e.g. "push,group"), BENCH_SCALE (default 1) scales request counts; BENCH_FETCH_RECORDS (default
 * 1,000,000) sizes the fetch partition; BENCH_URL points at a running server instead of starting one.
 */
import { encodeBatch } from "../protocol/record-batch";
import { HEADERS, MEDIA_TYPES } from "../protocol/wire";
import WebSocket from "ws";
import { Consumer, type ConsumerOptions } from "../web-client/consumer";
import { splitBatches } from "../protocol/record-batch";
import { startDevServer, type DevServer } from "../test/support/dev-server";
import { BENCH_ADMIN_TOKEN, configureAccess } from "./access-setup";
import { closeAgent, request, useCredential, type BenchResponse } from "./http";

const VALUE_BYTES = 100;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const FETCH_RECORDS = Number(process.env.BENCH_FETCH_RECORDS ?? 1_000_000);

interface Result {
  scenario: string;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  requests: number;
  peakRssMb: number;
}

const value = "x".repeat(VALUE_BYTES);
const value100 = value;
const valueBytes = new TextEncoder().encode(value);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Samples the server's memory every 100 ms while `fn` runs; returns the peak resident memory of
 * its workerd processes (the runtime that holds the objects) in MB. wrangler's own node process
 * is development tooling and not counted.
 */
async function withPeakRss<T>(server: DevServer | null, fn: () => Promise<T>): Promise<{ value: T; peakRssMb: number }> {
  const sample = () => server?.memory().workerdRss ?? 0;
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), 100);
  try {
    const value = await fn();
    peak = Math.max(peak, sample());
    return { value, peakRssMb: Math.round(peak / 1e6) };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `requests` calls of `send` with CONCURRENCY in flight; each returns its record count. */
async function drive(requests: number, send: (i: number) => Promise<number>) {
  const latencies: number[] = [];
  let next = 0;
  let records = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        const i = next++;
        const t0 = performance.now();
        const sent = await send(i);
        latencies.push(performance.now() - t0);
        records += sent;
      }
    }),
  );
  return { records, seconds: (performance.now() - started) / 1000, latencies: latencies.sort((a, b) => a - b) };
}

function summarize(scenario: string, run: { records: number; seconds: number; latencies: number[] }, peakRssMb: number): Result {
  return {
    scenario,
    records: run.records,
    seconds: Number(run.seconds.toFixed(2)),
    recordsPerSec: Math.round(run.records / run.seconds),
    mbPerSec: Number(((run.records * VALUE_BYTES) / 1e6 / run.seconds).toFixed(2)),
    p50Ms: Number(percentile(run.latencies, 50).toFixed(2)),
    p99Ms: Number(percentile(run.latencies, 99).toFixed(2)),
    p999Ms: Number(percentile(run.latencies, 99.9).toFixed(2)),
    requests: run.latencies.length,
    peakRssMb,
  };
}

function expectOk(res: BenchResponse, what: string): BenchResponse {
  if (res.status < 200 || res.status > 299) throw new Error(`${what}: HTTP ${res.status} ${res.body.toString()}`);
  return res;
}

async function createTopic(
  base: string,
  name: string,
  partitions = 1,
  replication?: { replicationFactor: number; config: Record<string, unknown> },
): Promise<void> {
  const res = await request(`${base}/v1/topics`, { method: "POST", body: JSON.stringify({ name, partitions, ...replication }) });
  if (res.status !== 201 && res.status !== 409) throw new Error(`create ${name}: HTTP ${res.status} ${res.body.toString()}`);
}

async function produceJson(base: string, server: DevServer | null, batch: number, requests: number): Promise<Result> {
  const topic = `bench-json-b${batch}-${Date.now()}`;
  await createTopic(base, topic);
  const body = JSON.stringify({ records: Array.from({ length: batch }, () => ({ value, partition: 0 })) });
  const { value: run, peakRssMb } = await withPeakRss(server, () =>
    drive(requests, async () => {
      expectOk(
        await request(`${base}/v1/topics/${topic}/records?acks=1`, {
          method: "POST",
          body,
          headers: { [HEADERS.contentType]: MEDIA_TYPES.json },
        }),
        "produce json",
      );
      return batch;
    }),
  );
  return summarize(`produce-json-b${batch}`, run, peakRssMb);
}

/** Binary produce to partition 0; with `replicated`, to a topic of that many replicas at the given acks. */
async function produceBinary(
  base: string,
  server: DevServer | null,
  batch: number,
  requests: number,
  topic?: string,
  replicated?: { replicationFactor: number; acks: "1" | "all" },
): Promise<Result> {
  const name = topic ?? `bench-bin-b${batch}-${replicated ? `rf${replicated.replicationFactor}-acks${replicated.acks}-` : ""}${Date.now()}`;
  await createTopic(
    base,
    name,
    1,
    replicated
      ? { replicationFactor: replicated.replicationFactor, config: { "min.insync.replicas": Math.min(2, replicated.replicationFactor) } }
      : undefined,
  );
  const bytes = await encodeBatch(Array.from({ length: batch }, () => ({ key: null, value: valueBytes })));
  const acks = replicated?.acks ?? "1";
  const { value: run, peakRssMb } = await withPeakRss(server, () =>
    drive(requests, async () => {
      expectOk(
        await request(`${base}/v1/topics/${name}/partitions/0/batches?acks=${acks}`, {
          method: "POST",
          body: bytes,
          headers: { [HEADERS.contentType]: MEDIA_TYPES.recordBatch },
        }),
        "produce binary",
      );
      return batch;
    }),
  );
  return summarize(
    replicated ? `replicated-rf${replicated.replicationFactor}-acks-${acks}-b${batch}` : `produce-binary-b${batch}`,
    run,
    peakRssMb,
  );
}

/**
 * Loads `records` keyed records (10,000 keys, binary batches of 1,000) into a delete-policy topic,
 * switches it to compact, and times the cleaner until the log has shrunk to its latest values.
 */
async function compaction(base: string, server: DevServer | null, records: number, label: string): Promise<Result> {
  const keys = 10_000;
  const name = `bench-compact-${label}-${Date.now()}`;
  await createTopic(base, name, 1);
  for (let b = 0; b < records / 1000; b++) {
    const bytes = await encodeBatch(
      Array.from({ length: 1000 }, (_, j) => ({ key: new TextEncoder().encode(`key-${(b * 1000 + j) % keys}`), value: valueBytes })),
    );
    expectOk(
      await request(`${base}/v1/topics/${name}/partitions/0/batches?acks=1`, {
        method: "POST",
        body: bytes,
        headers: { [HEADERS.contentType]: MEDIA_TYPES.recordBatch },
      }),
      "load compaction topic",
    );
  }
  const sizeOf = async () => {
    const res = expectOk(await request(`${base}/v1/topics/${name}`), "describe");
    return (JSON.parse(res.body.toString()) as { partitions: { sizeBytes: number }[] }).partitions[0].sizeBytes;
  };
  const loaded = await sizeOf();
  const latencies: number[] = [];
  // The latest value of each key below the last batch, plus that batch: about keys + 1,000 records of the ~130 bytes each takes.
  const target = (keys + 1000) * 140;
  const { value: seconds, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    expectOk(
      await request(`${base}/v1/topics/${name}/config`, {
        method: "PATCH",
        body: JSON.stringify({ config: { "cleanup.policy": "compact" } }),
        headers: { [HEADERS.contentType]: "application/json" },
      }),
      "switch to compact",
    );
    // Meanwhile a reader fetches the log's last record over and over: its latencies are what a
    // consumer sees while the cleaner runs (the scenario's latency columns).
    let compacting = true;
    const reader = (async () => {
      while (compacting) {
        const t0 = performance.now();
        expectOk(
          await request(`${base}/v1/topics/${name}/partitions/0/records?offset=${records - 1}&maxRecords=1`),
          "fetch during compaction",
        );
        latencies.push(performance.now() - t0);
      }
    })();
    try {
      for (;;) {
        const size = await sizeOf();
        if (size <= target) return (performance.now() - started) / 1000;
        if (performance.now() - started > 600_000) throw new Error(`compaction of ${name} stalled at ${size} of ${loaded} bytes`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      compacting = false;
      await reader;
    }
  });
  return summarize(`compaction-${label}`, { records, seconds, latencies: latencies.sort((a, b) => a - b) }, peakRssMb);
}

/**
 * `producers` producers (CONCURRENCY in flight) each send `rounds` units of 10 batches × 1,000
 * records to one partition: in transactions (add the partition, the batches, commit) or, with
 * `transactional` false, idempotently with no transaction. One unit is one latency sample.
 */
async function transactionalProduce(
  base: string,
  server: DevServer | null,
  transactional: boolean,
  topic: string,
  rounds: number,
): Promise<Result> {
  const BATCHES = 10;
  const RECORDS = 1000;
  await createTopic(base, topic, 1);
  const producers = await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, i) => {
      const id = `${topic}-p${i}`;
      const res = expectOk(
        await request(`${base}/v1/producers`, {
          method: "POST",
          body: JSON.stringify(transactional ? { transactionalId: id } : {}),
          headers: { [HEADERS.contentType]: "application/json" },
        }),
        "init producer",
      );
      return { id, ...(JSON.parse(res.body.toString()) as { producerId: number; producerEpoch: number }), sequence: 0 };
    }),
  );
  const post = (path: string, json: unknown) =>
    request(`${base}${path}`, { method: "POST", body: JSON.stringify(json), headers: { [HEADERS.contentType]: "application/json" } });
  const records = Array.from({ length: RECORDS }, () => ({ key: null, value: valueBytes }));
  let free = [...producers];
  const { value: run, peakRssMb } = await withPeakRss(server, () =>
    drive(rounds * CONCURRENCY, async () => {
      const p = free.shift()!;
      const { producerId, producerEpoch } = p;
      if (transactional)
        expectOk(
          await post(`/v1/transactions/${p.id}/partitions`, { producerId, producerEpoch, partitions: [{ topic, partition: 0 }] }),
          "add partition",
        );
      for (let b = 0; b < BATCHES; b++) {
        const bytes = await encodeBatch(records, { producerId, producerEpoch, baseSequence: p.sequence, isTransactional: transactional });
        p.sequence += RECORDS;
        expectOk(
          await request(`${base}/v1/topics/${topic}/partitions/0/batches?acks=1`, {
            method: "POST",
            body: bytes,
            headers: { [HEADERS.contentType]: MEDIA_TYPES.recordBatch, ...(transactional ? { [HEADERS.transactionalId]: p.id } : {}) },
          }),
          "produce",
        );
      }
      if (transactional) expectOk(await post(`/v1/transactions/${p.id}/commit`, { producerId, producerEpoch }), "commit");
      free.push(p);
      return BATCHES * RECORDS;
    }),
  );
  free = [];
  return summarize(transactional ? "txn-produce-10x1000" : "idem-produce-10x1000", run, peakRssMb);
}

/** Reads a partition whole as JSON at an isolation level (the read_committed cost: the last stable offset and the aborted list). */
async function fetchIsolated(base: string, server: DevServer | null, topic: string, isolation: string): Promise<Result> {
  const latencies: number[] = [];
  let records = 0;
  const { value: seconds, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    let offset = 0;
    for (;;) {
      const t0 = performance.now();
      const res = expectOk(
        await request(
          `${base}/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000&maxBytes=4194304&isolation=${isolation}`,
        ),
        "fetch isolated",
      );
      const body = JSON.parse(res.body.toString()) as { records: unknown[]; nextOffset: number; highWatermark: number };
      latencies.push(performance.now() - t0);
      records += body.records.length;
      offset = body.nextOffset;
      if (offset >= body.highWatermark) break;
    }
    return (performance.now() - started) / 1000;
  });
  return summarize(`fetch-json-${isolation}`, { records, seconds, latencies: latencies.sort((a, b) => a - b) }, peakRssMb);
}

/** Reads the whole partition from 0, one request at a time, as a consumer would. */
async function fetchAll(
  base: string,
  server: DevServer | null,
  topic: string,
  format: "binary" | "json",
  total = FETCH_RECORDS,
): Promise<Result> {
  const latencies: number[] = [];
  let records = 0;
  const { value: seconds, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    let offset = 0;
    while (offset < total) {
      const t0 = performance.now();
      if (format === "binary") {
        const res = expectOk(
          await request(`${base}/v1/topics/${topic}/partitions/0/batches?offset=${offset}&maxBytes=4194304`),
          "fetch binary",
        );
        const next = Number(res.headers[HEADERS.nextOffset]);
        records += next - offset;
        offset = next;
      } else {
        const res = expectOk(
          await request(`${base}/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000&maxBytes=4194304`),
          "fetch json",
        );
        const body = JSON.parse(res.body.toString()) as { records: unknown[]; nextOffset: number };
        records += body.records.length;
        offset = body.nextOffset;
      }
      latencies.push(performance.now() - t0);
    }
    return (performance.now() - started) / 1000;
  });
  return summarize(
    `fetch-${format}-${total >= 1e6 ? `${total / 1e6}M` : total}`,
    { records, seconds, latencies: latencies.sort((a, b) => a - b) },
    peakRssMb,
  );
}

/**
 * Loads FETCH_RECORDS records over 4 partitions, then drains them with a group of 2 consumers,
 * over HTTP long-polls or each over its one group WebSocket.
 */
async function groupConsume(base: string, server: DevServer | null, transport: "http" | "websocket"): Promise<Result> {
  const topic = `bench-group-${Date.now()}`;
  const partitions = 4;
  await createTopic(base, topic, partitions);
  const bytes = await encodeBatch(Array.from({ length: 1000 }, () => ({ key: null, value: valueBytes })));
  await drive(Math.ceil(FETCH_RECORDS / 1000), async (i) => {
    expectOk(
      await request(`${base}/v1/topics/${topic}/partitions/${i % partitions}/batches?acks=1`, { method: "POST", body: bytes }),
      "load",
    );
    return 1000;
  });
  const latencies: number[] = [];
  let consumed = 0;
  const { value: seconds, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    let last = started;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const consumers = [0, 1].map(
      () =>
        new Consumer({
          url: base,
          groupId: topic,
          topics: [topic],
          maxBytes: 4 << 20,
          maxWaitMs: 100,
          transport,
          ...(transport === "websocket" ? { WebSocket: WebSocket as unknown as ConsumerOptions["WebSocket"] } : {}),
        }),
    );
    // A consumer that fails ends the scenario with its error (handled at once: a run() left
    // unawaited until the end would be an unhandled rejection, killing the process).
    let failed: { error: unknown } | null = null;
    const runs = consumers.map((c) =>
      c
        .run({
          eachBatch: async ({ records }) => {
            consumed += records.length;
            const now = performance.now();
            latencies.push(now - last);
            last = now;
            if (consumed >= FETCH_RECORDS) done();
          },
        })
        .catch((error) => {
          failed ??= { error };
          done();
        }),
    );
    await finished;
    const elapsed = (performance.now() - started) / 1000;
    await Promise.all(consumers.map((c) => c.stop()));
    await Promise.all(runs);
    if (failed) throw (failed as { error: unknown }).error;
    return elapsed;
  });
  return summarize(
    transport === "http" ? "group-consume-2x4" : "group-socket-2x4",
    { records: consumed, seconds, latencies: latencies.sort((a, b) => a - b) },
    peakRssMb,
  );
}

/**
 * Produce -> push latency at 1,000 records/s: a request of 10 records every 10 ms (as a producer
 * with a 10 ms linger sends them); latency = when the subscriber has a record - when its request
 * was sent. One record per request at 1,000 requests/s would measure the local server's request
 * ceiling (~1,000 requests/s for the whole process), not push.
 */
async function pushLatency(base: string, server: DevServer | null): Promise<Result> {
  const topic = `bench-push-lat-${Date.now()}`;
  await createTopic(base, topic);
  const seconds = 5;
  const total = 1000 * seconds;
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/topics/${topic}/partitions/0/subscribe?offset=0`);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let received = 0;
  const done = new Promise<void>((resolve) =>
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { records?: { value: string }[]; nextOffset?: number };
      const now = performance.now();
      for (const r of frame.records ?? []) {
        const t = sentAt.get(r.value);
        if (t !== undefined && received >= 1000) latencies.push(now - t); // the first second warms up
        if (t !== undefined && received >= 1000 && now - t > 20 && process.env.BENCH_DEBUG)
          console.error("slow", received, (now - t).toFixed(1));
        received++;
      }
      if (frame.nextOffset !== undefined) ws.send(JSON.stringify({ type: "ack", offset: frame.nextOffset }));
      if (received >= total) resolve();
    }),
  );
  const { value: elapsed, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < total; i += 10) {
      const due = started + i; // 10 records every 10 ms
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const now = performance.now();
      const records = Array.from({ length: 10 }, (_, k) => {
        const value = `${i + k}:${value100.slice(String(i + k).length + 1)}`;
        sentAt.set(value, now);
        return { value };
      });
      sends.push(
        request(`${base}/v1/topics/${topic}/records?acks=1`, {
          method: "POST",
          body: JSON.stringify({ records }),
          headers: { [HEADERS.contentType]: MEDIA_TYPES.json },
        }).then((res) => expectOk(res, "produce for push latency")),
      );
    }
    await Promise.all(sends);
    // A subscriber that stops receiving is a failure to report, not a bench that hangs.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      done,
      new Promise(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`push latency: the subscriber had ${received} of ${total} records 30 s after the last send`)),
            30_000,
          )),
      ),
    ]).finally(() => clearTimeout(timer));
    return (performance.now() - started) / 1000;
  });
  ws.close();
  return summarize("push-latency-1000rps", { records: received, seconds: elapsed, latencies: latencies.sort((a, b) => a - b) }, peakRssMb);
}

/** Push throughput: one subscriber with binary frames in credit mode drains a loaded partition. */
async function pushThroughput(base: string, server: DevServer | null, topic: string): Promise<Result> {
  const latencies: number[] = [];
  let received = 0;
  const { value: seconds, peakRssMb } = await withPeakRss(server, async () => {
    const started = performance.now();
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/topics/${topic}/partitions/0/subscribe?offset=0&format=binary&mode=credit`);
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    ws.send(JSON.stringify({ type: "credit", bytes: 32 << 20 }));
    let last = performance.now();
    await new Promise<void>((resolve, reject) => {
      ws.on("close", (code: number, why: Buffer) => reject(new Error(`push closed early: ${code} ${why.toString()}`)));
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const now = performance.now();
        latencies.push(now - last);
        last = now;
        for (const { header } of splitBatches(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)))
          received += header.recordCount;
        ws.send(JSON.stringify({ type: "credit", bytes: data.byteLength }));
        if (received >= FETCH_RECORDS) resolve();
      });
    });
    ws.removeAllListeners("close");
    ws.close();
    return (performance.now() - started) / 1000;
  });
  return summarize("push-binary-1M", { records: received, seconds, latencies: latencies.sort((a, b) => a - b) }, peakRssMb);
}

/** How many times each access scenario runs on each server (alternating which goes first). */
const ACCESS_ROUNDS = Number(process.env.BENCH_ACCESS_ROUNDS ?? 5);

/** The run with the median records/s. */
function median(runs: Result[]): Result {
  return [...runs].sort((a, b) => a.recordsPerSec - b.recordsPerSec)[Math.floor(runs.length / 2)];
}

/**
 * Auth off against auth on (keys, ACLs, unlimited quotas), on two fresh servers. Each scenario
 * runs ACCESS_ROUNDS times on each, in turns that alternate which server goes first, so that the
 * machine's drift falls on both alike; the table shows each side's median run, and the answer is
 * each scenario's ratio of the medians' records/s (on / off).
 */
async function accessComparison(step: (r: Result) => void, counts: (n: number) => number): Promise<Record<string, number>> {
  const off = await startDevServer();
  const on = await startDevServer({ vars: { EDGELOG_TOKEN: BENCH_ADMIN_TOKEN } });
  try {
    useCredential(on.url, await configureAccess(on.url));
    const fetchRecords = Math.min(FETCH_RECORDS, counts(500_000));
    const topics = new Map<DevServer, string>();
    for (const server of [off, on]) {
      const topic = `bench-access-fetch-${Date.now()}`;
      await produceBinary(server.url, server, 1000, Math.ceil(fetchRecords / 1000), topic);
      topics.set(server, topic);
    }
    const scenarios: [string, (server: DevServer) => Promise<Result>][] = [
      ["produce-binary-b1", (s) => produceBinary(s.url, s, 1, counts(1000))],
      ["produce-binary-b1000", (s) => produceBinary(s.url, s, 1000, counts(300))],
      ["produce-json-b100", (s) => produceJson(s.url, s, 100, counts(500))],
      ["fetch-binary", (s) => fetchAll(s.url, s, topics.get(s)!, "binary", fetchRecords)],
      ["fetch-json", (s) => fetchAll(s.url, s, topics.get(s)!, "json", fetchRecords)],
    ];
    const ratios: Record<string, number> = {};
    for (const [name, run] of scenarios) {
      const runs = new Map<DevServer, Result[]>([
        [off, []],
        [on, []],
      ]);
      for (let round = 0; round < ACCESS_ROUNDS; round++) {
        for (const server of round % 2 === 0 ? [off, on] : [on, off]) runs.get(server)!.push(await run(server));
      }
      const [a, b] = [median(runs.get(off)!), median(runs.get(on)!)];
      step({ ...a, scenario: `access-off/${name}` });
      step({ ...b, scenario: `access-on/${name}` });
      ratios[name] = Number((b.recordsPerSec / a.recordsPerSec).toFixed(3));
    }
    return ratios;
  } finally {
    await Promise.all([off.stop(), on.stop()]);
  }
}

function printTable(results: Result[]): void {
  const cols: (keyof Result)[] = ["scenario", "records", "recordsPerSec", "mbPerSec", "p50Ms", "p99Ms", "p999Ms", "requests", "peakRssMb"];
  const rows = [cols.map(String), ...results.map((r) => cols.map((c) => String(r[c])))];
  const widths = cols.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const [n, row] of rows.entries()) {
    console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

async function main(): Promise<void> {
  const server = process.env.BENCH_URL ? null : await startDevServer();
  const base = process.env.BENCH_URL ?? server!.url;
  const results: Result[] = [];
  let txnRatio: number | undefined;
  const only = (process.env.BENCH_ONLY ?? "").split(",").filter(Boolean);
  const wanted = (scenario: string) => only.length === 0 || only.some((prefix) => scenario.startsWith(prefix));
  const step = (r: Result) => {
    results.push(r);
    console.error(`  ${r.scenario}: ${r.recordsPerSec} records/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`);
  };
  try {
    const counts = (n: number) => Math.max(1, Math.round(n * SCALE));
    if (wanted("produce-json")) {
      for (const [batch, requests] of [
        [1, 2000],
        [100, 1000],
        [1000, 200],
      ] as const)
        step(await produceJson(base, server, batch, counts(requests)));
    }
    if (wanted("produce-binary")) {
      for (const [batch, requests] of [
        [1, 2000],
        [100, 1000],
        [1000, 300],
      ] as const)
        step(await produceBinary(base, server, batch, counts(requests)));
    }
    if (wanted("replicated")) {
      // Replication factor 3 (min.insync.replicas 2): acks=1 answers once the leader stored a batch,
      // acks=all once both followers have it too. Kafka's own figures: 821,557 vs 421,823 records/s.
      for (const acks of ["1", "all"] as const)
        step(await produceBinary(base, server, 1000, counts(300), undefined, { replicationFactor: 3, acks }));
    }
    if (wanted("fetch") || wanted("push-binary")) {
      const topic = `bench-fetch-${Date.now()}`;
      console.error(`  loading ${FETCH_RECORDS} records into ${topic}...`);
      const load = await produceBinary(base, server, 1000, Math.ceil(FETCH_RECORDS / 1000), topic);
      console.error(`  loaded at ${load.recordsPerSec} records/s`);
      if (wanted("fetch-binary")) step(await fetchAll(base, server, topic, "binary"));
      if (wanted("fetch-json")) step(await fetchAll(base, server, topic, "json"));
      if (wanted("push-binary")) step(await pushThroughput(base, server, topic));
    }
    if (wanted("txn")) {
      // Alternating, so drift in the machine's speed falls on both alike; the ratio is of the medians.
      const txnRuns: Result[] = [];
      const idemRuns: Result[] = [];
      let lastTxnTopic = "";
      for (let round = 0; round < 3; round++) {
        lastTxnTopic = `bench-txn-${Date.now()}`;
        txnRuns.push(await transactionalProduce(base, server, true, lastTxnTopic, counts(3)));
        idemRuns.push(await transactionalProduce(base, server, false, `bench-idem-${Date.now()}`, counts(3)));
      }
      step(median(txnRuns));
      step(median(idemRuns));
      txnRatio = Math.round((median(txnRuns).recordsPerSec / median(idemRuns).recordsPerSec) * 100) / 100;
      step(await fetchIsolated(base, server, lastTxnTopic, "read_committed"));
      step(await fetchIsolated(base, server, lastTxnTopic, "read_uncommitted"));
    }
    if (wanted("compaction")) {
      step(await compaction(base, server, 100_000, "100k"));
      step(await compaction(base, server, 1_000_000, "1M"));
    }
    if (wanted("push-latency")) step(await pushLatency(base, server));
    if (wanted("group-consume")) step(await groupConsume(base, server, "http"));
    if (wanted("group-socket")) step(await groupConsume(base, server, "websocket"));
  } finally {
    await server?.stop();
  }
  let access: Record<string, number> | undefined;
  try {
    // On servers of its own, once the main one is stopped: two fresh logs, nothing else running.
    if (wanted("access") && !process.env.BENCH_URL) access = await accessComparison(step, (n) => Math.max(1, Math.round(n * SCALE)));
  } finally {
    closeAgent();
  }
  printTable(results);
  if (access) for (const [name, ratio] of Object.entries(access)) console.log(`access on/off ${name}: ${ratio}`);
  if (txnRatio !== undefined) console.log(`transactional / idempotent produce (records/s, medians of 3): ${txnRatio}`);
  console.log(
    JSON.stringify({
      bench: "edgelog",
      valueBytes: VALUE_BYTES,
      concurrency: CONCURRENCY,
      date: new Date().toISOString(),
      results,
      txnOverIdempotent: txnRatio,
      access,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
