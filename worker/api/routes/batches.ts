/**
 * The binary data plane: Kafka RecordBatch v2 bytes in and out, for fast clients.
 *
 *   POST /v1/topics/{topic}/partitions/{p}/batches?acks=0|1|all
 *        body: one or more record batches, concatenated (a Kafka "record set")
 *        -> {"partition", "baseOffset", "lastOffset", "batches": [{baseOffset, lastOffset, duplicate}], ...}
 *   GET  /v1/topics/{topic}/partitions/{p}/batches?offset&maxBytes&maxRecords&maxWaitMs&minBytes
 *        -> the stored batches, byte for byte (the first may start before `offset`, as in Kafka),
 *           with Edgelog-High-Watermark, Edgelog-Log-Start-Offset and Edgelog-Next-Offset headers.
 *
 * Every produced batch is checked completely before anything is appended (CRC-32C, framing,
 * every record's lengths and offset deltas; gzip batches are decompressed to check them), so a
 * corrupt batch is refused with CORRUPT_MESSAGE and never stored. Batches with a producer id are
 * idempotent: a retried batch is answered with its original offsets.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { splitBatches, validateBatch } from "../../../protocol/record-batch";
import { withTopic } from "../../cluster/metadata";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { acksParam, readBody } from "../http/params";
import { appendTo, readFrom } from "../../cluster/partition-client";
import { fetchParams, partitionParam, readReplica } from "./fetch-params";

export const RECORD_BATCH_MEDIA_TYPE = "application/vnd.kafka.record-batch.v2";

export const batches = new Hono<{ Bindings: Env }>();

batches.post("/v1/topics/:topic/partitions/:partition/batches", async (c) => {
  const partition = partitionParam(c.req.param("partition"));
  const acks = acksParam(c.req.query("acks"));
  const body = await readBody(c.req.raw, LIMITS.binaryBodyBytes);
  if (body.byteLength === 0) throw new EdgelogError("INVALID_REQUEST", "the body must hold at least one record batch");
  const split = splitBatches(body);
  if (split.length > LIMITS.batchesPerRequest) {
    throw new EdgelogError("RECORD_LIST_TOO_LARGE", `at most ${LIMITS.batchesPerRequest} batches per request, got ${split.length}`);
  }
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    // Sizes first (cheap), then each batch's records one at a time: a gzip batch is
    // decompressed only once it is known to fit, and never two at once.
    for (const { header } of split) {
      if (header.size > topic.config["max.message.bytes"]) {
        throw new EdgelogError("MESSAGE_TOO_LARGE", `batch of ${header.size} bytes exceeds max.message.bytes ${topic.config["max.message.bytes"]}`);
      }
    }
    const checked = [];
    for (const { header, bytes } of split) {
      checked.push({ header: await validateBatch(bytes, { maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes, checkedHeader: header }), bytes });
    }
    const append = appendTo(c.env, topic, partition, { batches: checked, acks });
    if (acks === 0) {
      c.executionCtx.waitUntil(append.catch((err) => console.error("edgelog: acks=0 append failed", err)));
      return c.json({ partition, baseOffset: null, lastOffset: null, batches: [] }, 202);
    }
    const result = await append;
    return c.json({
      partition,
      baseOffset: result.batches[0].baseOffset,
      lastOffset: result.batches[result.batches.length - 1].lastOffset,
      batches: result.batches,
      highWatermark: result.highWatermark,
      logStartOffset: result.logStartOffset,
    });
  });
});

batches.get("/v1/topics/:topic/partitions/:partition/batches", async (c) => {
  const partition = partitionParam(c.req.param("partition"));
  // Binary fetches are bounded by bytes, as Kafka's are; maxRecords only when asked for.
  const request = fetchParams((name) => c.req.query(name), { defaultMaxRecords: Number.MAX_SAFE_INTEGER });
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    const result = await readFrom(c.env, topic, partition, request, readReplica(c.env, topic, partition, c.req.query("region"), c.req.raw));
    return new Response(result.data as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": RECORD_BATCH_MEDIA_TYPE,
        "edgelog-high-watermark": String(result.highWatermark),
        "edgelog-log-start-offset": String(result.logStartOffset),
        "edgelog-next-offset": String(result.nextOffset),
        "edgelog-replica": String(result.replica),
      },
    });
  });
});
