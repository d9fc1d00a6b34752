/**
 * The JSON data plane: produce records to a topic, fetch records from a partition.
 *
 *   POST /v1/topics/{topic}/records?acks=0|1|all      {"records": [...]}  -> {"offsets": [...]}
 *   GET  /v1/topics/{topic}/partitions/{p}/records?offset&maxRecords&maxBytes&maxWaitMs&minBytes
 *
 * Produce groups the records by partition (explicit, keyed, or sticky), encodes one RecordBatch
 * v2 per partition and appends them in parallel; the answer lists each record's partition and
 * offset in request order. An `Idempotency-Key` header makes a retried request return the first
 * attempt's offsets instead of appending again.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../protocol/errors";
import { decodeRecords, encodeBatch, readBatchHeader, splitBatches } from "../../protocol/record-batch";
import { withTopic } from "../cluster";
import type { Env } from "../env";
import { LIMITS } from "../http/limits";
import { acksParam, readJsonObject } from "../http/params";
import { appendTo, readFrom } from "../partition-client";
import { toJsonRecord, type JsonRecord } from "../../protocol/json-record";
import { parseJsonRecords } from "../produce/json-records";
import { partitionForIdempotencyKey, stickyPartition, stickySent } from "../produce/partitioner";
import { partitionForKey } from "../../protocol/murmur2";
import { fetchParams, partitionParam } from "./fetch-params";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const records = new Hono<{ Bindings: Env }>();

records.post("/v1/topics/:topic/records", async (c) => {
  const acks = acksParam(c.req.query("acks"));
  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new EdgelogError("INVALID_REQUEST", "Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  const { body, bytes } = await readJsonObject(c.req.raw, LIMITS.jsonBodyBytes);
  for (const field of Object.keys(body)) {
    if (field !== "records") throw new EdgelogError("INVALID_REQUEST", `unknown field "${field}": the body is {"records": [...]}`);
  }
  const inputs = parseJsonRecords(body.records, LIMITS.jsonRecordsPerRequest);
  const digest = idempotencyKey === undefined ? undefined : await sha256Hex(bytes);
  const now = Date.now();

  const offsets = await withTopic(c.env, c.req.param("topic"), async (topic) => {
    const count = topic.partitions.length;
    const unkeyed = idempotencyKey !== undefined ? partitionForIdempotencyKey(idempotencyKey, count) : stickyPartition(topic.topicId, count);
    const byPartition = new Map<number, number[]>();
    inputs.forEach((input, i) => {
      const partition = input.partition ?? (input.key !== null ? partitionForKey(input.key, count) : unkeyed);
      if (partition >= count) {
        throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic.name}" has no partition ${partition} (it has ${count})`);
      }
      const list = byPartition.get(partition);
      if (list) list.push(i);
      else byPartition.set(partition, [i]);
    });
    // Encode and check every batch before appending any, so a refusal changes nothing.
    const batches = await Promise.all(
      [...byPartition].map(async ([partition, indexes]) => {
        const bytes = await encodeBatch(indexes.map((i) => inputs[i].record), { timestamp: now });
        if (bytes.byteLength > topic.config["max.message.bytes"]) {
          throw new EdgelogError(
            "MESSAGE_TOO_LARGE",
            `the records for partition ${partition} make a batch of ${bytes.byteLength} bytes, above max.message.bytes ${topic.config["max.message.bytes"]}`,
          );
        }
        return { partition, indexes, bytes };
      }),
    );
    const unkeyedBytes = batches.find((b) => b.partition === unkeyed)?.bytes.byteLength ?? 0;
    if (idempotencyKey === undefined && unkeyedBytes > 0) stickySent(topic.topicId, count, unkeyedBytes);

    const offsets = new Array<{ partition: number; offset: number | null }>(inputs.length);
    const appendOne = async ({ partition, indexes, bytes }: (typeof batches)[number]) => {
      const result = await appendTo(c.env, topic, partition, { batches: [{ header: readBatchHeader(bytes), bytes }], acks, idempotencyKey, digest });
      indexes.forEach((i, k) => (offsets[i] = { partition, offset: result.batches[0].baseOffset + k }));
    };
    // Under an idempotency key, the key's home partition (where its unkeyed records go) records
    // every request first, with no records if none go there: a different request under a used
    // key is refused there before any other partition appends (each partition only knows the
    // keys of the requests that reached it).
    const home = idempotencyKey !== undefined ? batches.find((b) => b.partition === unkeyed) : undefined;
    const appendAll = (async () => {
      let rest = batches;
      if (idempotencyKey !== undefined) {
        if (home) await appendOne(home);
        else await appendTo(c.env, topic, unkeyed, { batches: [], acks, idempotencyKey, digest });
        rest = batches.filter((b) => b !== home);
      }
      await appendEach(rest.map(appendOne), idempotencyKey !== undefined || rest.length < batches.length);
    })();
    if (acks !== 0) {
      await appendAll;
      return offsets;
    }
    // Kafka's acks=0: the producer is not told the outcome, and no offsets are known.
    c.executionCtx.waitUntil(appendAll.catch((err) => console.error("edgelog: acks=0 append failed", err)));
    const unacknowledged = new Array<{ partition: number; offset: null }>(inputs.length);
    for (const [partition, indexes] of byPartition) for (const i of indexes) unacknowledged[i] = { partition, offset: null };
    return unacknowledged;
  });
  return c.json({ offsets }, acks === 0 ? 202 : 200);
});

records.get("/v1/topics/:topic/partitions/:partition/records", async (c) => {
  const partition = partitionParam(c.req.param("partition"));
  const request = fetchParams((name) => c.req.query(name));
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    const result = await readFrom(c.env, topic, partition, request);
    const out: JsonRecord[] = [];
    for (const batch of splitBatches(result.data)) {
      if (out.length >= request.maxRecords) break;
      const decoded = await decodeRecords(batch.bytes, { maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes, checkedHeader: batch.header });
      for (const record of decoded) {
        if (record.offset < request.offset) continue;
        if (out.length >= request.maxRecords) break;
        out.push(toJsonRecord(record));
      }
    }
    const nextOffset = out.length > 0 ? out[out.length - 1].offset + 1 : request.offset;
    return c.json({
      topic: topic.name,
      partition,
      records: out,
      nextOffset,
      highWatermark: result.highWatermark,
      logStartOffset: result.logStartOffset,
    });
  });
});

/**
 * Awaits the appends of one request to several partitions. When some applied and some failed,
 * the request is neither done nor undone: that is a retriable 5xx (outcome unknown, as the
 * contract says), never a 4xx, and never retried here — a retry with the same Idempotency-Key is
 * what makes it safe. When all failed alike, that error stands (nothing was applied).
 */
async function appendEach(appends: Promise<void>[], appliedBefore: boolean): Promise<void> {
  const results = await Promise.allSettled(appends);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed.length === 0) return;
  if (!appliedBefore && failed.length === results.length) throw failed[0].reason;
  const reason = failed[0].reason;
  throw new EdgelogError(
    "REQUEST_TIMED_OUT",
    `the records were appended to some partitions but not all (${failed.length} of ${results.length} failed: ${reason instanceof Error ? reason.message : String(reason)}); retry with the same Idempotency-Key to complete it without duplicates`,
  );
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
