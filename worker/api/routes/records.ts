/**
 * The JSON data plane: produce records to a topic, fetch records from a partition.
 *
 *   POST /v1/topics/{topic}/records?acks=0|1|all      {"records": [...]}  -> {"offsets": [...]}
 *   GET  /v1/topics/{topic}/partitions/{p}/records?offset&maxRecords&maxBytes&maxWaitMs&minBytes
 *
 * Produce groups the records by partition (explicit, keyed, or sticky), encodes one RecordBatch
 * v2 per partition and appends them in parallel (../produce/json-produce.ts); the answer lists each
 * record's partition and offset in request order. An `Idempotency-Key` header makes a retried
 * request return the first attempt's offsets instead of appending again.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { withTopic } from "../../cluster/metadata";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { acksParam, onlyFields, readJsonObject } from "../http/params";
import { readFrom } from "../../cluster/partition-client";
import { jsonRecordsFrom } from "../../../protocol/json-record";
import { produceJson } from "../produce/json-produce";
import { parseJsonRecords } from "../produce/json-records";
import { fetchParams, partitionParam, readReplica } from "./fetch-params";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const records = new Hono<{ Bindings: Env }>();

records.post("/v1/topics/:topic/records", async (c) => {
  const acks = acksParam(c.req.query("acks"));
  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new EdgelogError("INVALID_REQUEST", "Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  const { body, bytes } = await readJsonObject(c.req.raw, LIMITS.jsonBodyBytes);
  onlyFields(body, ["records"]);
  const inputs = parseJsonRecords(body.records, LIMITS.jsonRecordsPerRequest);
  const digest = idempotencyKey === undefined ? undefined : await sha256Hex(bytes);
  const now = Date.now();

  const { offsets, deferred } = await withTopic(c.env, c.req.param("topic"), (topic) =>
    produceJson(c.env, topic, { inputs, acks, idempotencyKey, digest }, now),
  );
  if (deferred) c.executionCtx.waitUntil(deferred);
  return c.json({ offsets }, acks === 0 ? 202 : 200);
});

records.get("/v1/topics/:topic/partitions/:partition/records", async (c) => {
  const partition = partitionParam(c.req.param("partition"));
  const request = fetchParams((name) => c.req.query(name));
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    const result = await readFrom(c.env, topic, partition, request, readReplica(c.env, topic, partition, c.req.query("region"), c.req.raw));
    const out = await jsonRecordsFrom(result.data, request.offset, { maxRecords: request.maxRecords, maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes });
    const nextOffset = out.length > 0 ? out[out.length - 1].offset + 1 : request.offset;
    return c.json({
      topic: topic.name,
      partition,
      records: out,
      nextOffset,
      highWatermark: result.highWatermark,
      logStartOffset: result.logStartOffset,
      replica: result.replica,
    });
  });
});

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
