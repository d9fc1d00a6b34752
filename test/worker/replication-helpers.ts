/**
 * Helpers for replication tests: replicated topics, idempotent batches, faults, per-replica reads.
 */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import { replicaName, DEFAULT_REGIONS } from "../../worker/controller/placement";
import { api, BASE, createTopic, describeTopic, type TopicDescription } from "./helpers";

export const MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";
const encoder = new TextEncoder();

export interface Producer {
  producerId: number;
  producerEpoch: number;
}

export interface ReplicatedDescription extends TopicDescription {
  partitions: (TopicDescription["partitions"][number] & { regions: string[] })[];
}

/** Creates a topic with `replicationFactor` replicas per partition (asserting 201). */
export async function createReplicated(
  name: string,
  replicationFactor: number,
  config: Record<string, unknown> = {},
  partitions = 1,
): Promise<ReplicatedDescription> {
  return (await createTopic(name, partitions, config, replicationFactor)) as ReplicatedDescription;
}

export async function describe(name: string): Promise<ReplicatedDescription> {
  return (await describeTopic(name)) as ReplicatedDescription;
}

export async function initProducer(): Promise<Producer> {
  const res = await api("/v1/producers", { method: "POST" });
  expect(res.status).toBe(200);
  return (await res.json()) as Producer;
}

/** A batch of `values`; idempotent when a producer is given. */
export function batchOf(values: string[], producer?: Producer, baseSequence = 0): Promise<Uint8Array> {
  return encodeBatch(
    values.map((v) => ({ key: null, value: encoder.encode(v) })),
    producer ? { producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence } : undefined,
  );
}

export function postBatch(topic: string, batch: Uint8Array, acks: "0" | "1" | "all" = "all", partition = 0): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/topics/${topic}/partitions/${partition}/batches?acks=${acks}`, {
    method: "POST",
    headers: { "content-type": MEDIA_TYPE },
    body: batch.slice(),
  });
}

export interface Appended {
  baseOffset: number;
  lastOffset: number;
  highWatermark: number;
  batches: { baseOffset: number; lastOffset: number; duplicate: boolean }[];
  error?: { code: string; message: string; retriable: boolean };
}

export async function appendOk(topic: string, batch: Uint8Array, acks: "0" | "1" | "all" = "all"): Promise<Appended> {
  const res = await postBatch(topic, batch, acks);
  const body = (await res.json()) as Appended;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** Sets a fault on one replica through the test-only route. */
export async function fault(
  topic: string,
  replica: number,
  kind: "none" | "unreachable" | "slow" | "crash-mid-append",
  delayMs?: number,
  partition = 0,
): Promise<void> {
  const res = await api("/v1/admin/faults", {
    method: "POST",
    json: { topic, partition, replica, fault: kind, ...(delayMs ? { delayMs } : {}) },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Reads a partition's values (JSON fetch), from the leader or from the replica in `region`. */
export async function valuesOf(
  topic: string,
  region?: string,
  partition = 0,
): Promise<{ values: string[]; highWatermark: number; replica: number }> {
  const res = await api(
    `/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000${region ? `&region=${region}` : ""}`,
  );
  const body = (await res.json()) as { records: { offset: number; value: unknown }[]; highWatermark: number; replica: number };
  expect(res.status, JSON.stringify(body)).toBe(200);
  body.records.forEach((r, i) => expect(r.offset).toBe(i));
  return { values: body.records.map((r) => String(r.value)), highWatermark: body.highWatermark, replica: body.replica };
}

/** The stub of one replica object. */
export function replica(topicId: string, r: number, partition = 0) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topicId, partition, r)));
}

/** Everything a replica stores, read straight from the object (bypassing its high watermark). */
export async function storedValues(topicId: string, r: number, partition = 0): Promise<string[]> {
  const stub = replica(topicId, r, partition);
  const status = await stub.status();
  if (!status.ok) throw new Error(status.message);
  const { decodeRecords, splitBatches } = await import("../../protocol/record-batch");
  const out: string[] = [];
  const read = await stub.read({
    offset: status.value.logStartOffset,
    maxBytes: 64 * 1024 * 1024,
    maxRecords: 1_000_000,
    maxWaitMs: 0,
    minBytes: 1,
  });
  if (!read.ok) throw new Error(read.message);
  for (const b of splitBatches(read.value.data)) for (const r of await decodeRecords(b.bytes)) out.push(new TextDecoder().decode(r.value!));
  return out;
}

/** The region of a replica id with the default regions. */
export function regionOf(r: number): string {
  return DEFAULT_REGIONS[r % DEFAULT_REGIONS.length];
}

/** Polls `check` until it holds (every 25 ms, up to `ms`); fails with the last value otherwise. */
export async function eventually<T>(what: string, probe: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  let value = await probe();
  while (!check(value)) {
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await probe();
  }
  return value;
}
