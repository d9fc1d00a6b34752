/**
 * The data plane: JSON and binary produce and fetch, list offsets, and the partition socket.
 *
 *   POST /v1/topics/{topic}/records?acks=0|1|all              {"records": [...]} -> {"offsets": [...]}
 *   GET  /v1/topics/{topic}/partitions/{p}/records?offset&maxRecords&maxBytes&maxWaitMs&minBytes&region
 *   POST /v1/topics/{topic}/partitions/{p}/batches?acks        RecordBatch v2 bytes -> offsets of each batch
 *   GET  /v1/topics/{topic}/partitions/{p}/batches?offset&...  -> the stored batches, byte for byte
 *   GET  /v1/topics/{topic}/partitions/{p}/offsets?timestamp=earliest|latest|<ms>
 *   GET  /v1/topics/{topic}/partitions/{p}/subscribe?offset&format&mode   (Upgrade: websocket)
 *
 * Query values are decimal text on the wire; the schemas below say which are integers.
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { HEADERS, RECORD_BATCH_MEDIA_TYPE } from "../wire";
import { Offset, PartitionParams, TopicParams } from "./names";
import { answer, coded, errors, json, route } from "./schema";

const tags = ["records"];

/** acks=0|1|all (-1 is Kafka's spelling of all). */
export const Acks = coded(
  z.enum(["0", "1", "all", "-1"]).default("all").meta({
    description: "0: answer before the append (202, no offsets); 1: once the leader stored it; all: once every in-sync replica has it",
  }),
  "INVALID_REQUIRED_ACKS",
);

/**
 * Record headers: names to strings or null. Checked in place rather than copied, so a header
 * named "__proto__" (an own property of parsed JSON) stays a header.
 */
const Headers = z
  .custom<Record<string, string | null>>(
    (v) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((h) => h === null || typeof h === "string"),
    "headers must be an object of strings (or null)",
  )
  .meta({ type: "object", additionalProperties: { type: ["string", "null"] } });

/** A record as the JSON produce API takes it; anything else refuses the request with INVALID_RECORD. */
export const RecordIn = coded(
  z
    .strictObject({
      key: z.string().nullable().optional().meta({ description: "Keyed records go to the partition Kafka's murmur2 partitioner picks" }),
      value: z
        .unknown()
        .optional()
        .meta({ description: "Any JSON value; a string is stored as its UTF-8 bytes, anything else as JSON text" }),
      partition: z.int().min(0).optional(),
      headers: Headers.optional(),
      timestamp: z.int().min(0).optional().meta({ description: "Milliseconds since the epoch (default: now)" }),
      keyEncoding: z.literal("base64").optional(),
      valueEncoding: z.literal("base64").optional(),
    })
    .meta({ id: "RecordIn" }),
  "INVALID_RECORD",
);

/** A record as fetch, push and the group socket give it. */
export const RecordOut = z
  .strictObject({
    offset: z.int(),
    timestamp: z.int(),
    key: z.string().nullable(),
    value: z.unknown(),
    headers: z.record(z.string(), z.string().nullable()),
    keyEncoding: z.literal("base64").optional(),
    valueEncoding: z.literal("base64").optional(),
  })
  .meta({ id: "RecordOut" });

const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,255}$/, "Idempotency-Key must be 1 to 255 printable ASCII characters")
  .optional()
  .meta({ description: "A retry with the same key and body returns the first attempt's offsets and appends nothing (kept 24 h)" });

/** Kafka's isolation level of a read. */
export const Isolation = z.enum(["read_uncommitted", "read_committed"]).default("read_uncommitted").meta({
  description: "read_committed: transactional records only once committed, never past the last stable offset, aborted ones left out",
});

/** Transactional JSON produce: the producer as POST /v1/producers issued it, and its transactional id. */
const TransactionalHeaders = {
  [HEADERS.transactionalId]: z.string().min(1).max(255).optional().meta({ description: "Produce inside this id's ongoing transaction" }),
  [HEADERS.producerId]: z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .optional(),
  [HEADERS.producerEpoch]: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .optional(),
};

const RecordOffset = z.strictObject({ partition: z.int(), offset: z.int().nullable() });

export const produceRecords = route({
  method: "post",
  path: "/v1/topics/{topic}/records",
  summary: "Produce JSON records",
  tags,
  bodyLimit: LIMITS.jsonBodyBytes,
  request: {
    params: TopicParams,
    query: z.object({ acks: Acks }),
    headers: z.object({ [HEADERS.idempotencyKey]: IdempotencyKey, ...TransactionalHeaders }),
    body: {
      required: true,
      content: json(
        z.strictObject({
          records: coded(z.array(RecordIn).min(1).max(LIMITS.jsonRecordsPerRequest), (issue) =>
            issue.code === "too_big" ? "RECORD_LIST_TOO_LARGE" : "INVALID_REQUEST",
          ),
        }),
      ),
    },
  },
  responses: {
    200: answer("Each record's partition and offset, in request order", z.strictObject({ offsets: z.array(RecordOffset) })),
    202: answer("acks=0: accepted before the append; offsets are unknown (null)", z.strictObject({ offsets: z.array(RecordOffset) })),
    ...errors({ 409: "OUT_OF_ORDER_SEQUENCE_NUMBER or PRODUCER_FENCED", 413: "MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE" }),
  },
});

/** Where a read starts: malformed is INVALID_REQUEST, negative is OFFSET_OUT_OF_RANGE (as in Kafka). */
const OffsetQuery = coded(
  Offset.default(0).meta({ description: "The first offset wanted; below the log start or past the high watermark is OFFSET_OUT_OF_RANGE" }),
  (issue) => (issue.code === "too_small" ? "OFFSET_OUT_OF_RANGE" : "INVALID_REQUEST"),
);

/** The query every fetch shares (JSON and binary); the binary fetch has no default maxRecords. */
function fetchQuery(defaultMaxRecords: number) {
  return z.object({
    offset: OffsetQuery,
    maxRecords: z.int().min(1).max(Math.max(LIMITS.maxRecords, defaultMaxRecords)).default(defaultMaxRecords),
    maxBytes: coded(
      z
        .int()
        .min(1)
        .max(LIMITS.maxBytes)
        .default(LIMITS.defaultMaxBytes)
        .meta({ description: "At most about this many bytes; the first batch is returned whole even when larger" }),
      "INVALID_FETCH_SIZE",
    ),
    maxWaitMs: z
      .int()
      .min(0)
      .max(LIMITS.maxWaitMs)
      .default(0)
      .meta({ description: "Long-poll: wait up to this long for data at the offset" }),
    minBytes: z
      .int()
      .min(0)
      .max(LIMITS.maxBytes)
      .default(1)
      .meta({ description: "Long-poll: wait until at least this many bytes are there" }),
    region: z.string().optional().meta({
      description:
        'Read from the replica in this region (a locationHint of EDGELOG_REGIONS), or "nearest" to the reader; default the leader. A follower serves only what is below its own high watermark (KIP-392)',
    }),
    isolation: Isolation,
  });
}

export const fetchRecords = route({
  method: "get",
  path: "/v1/topics/{topic}/partitions/{partition}/records",
  summary: "Fetch JSON records from an offset",
  tags,
  request: { params: PartitionParams, query: fetchQuery(LIMITS.defaultMaxRecords) },
  responses: {
    200: answer(
      "Records from the offset, below the high watermark",
      z.strictObject({
        topic: z.string(),
        partition: z.int(),
        records: z.array(RecordOut),
        nextOffset: z.int(),
        highWatermark: z.int(),
        lastStableOffset: z.int().meta({ description: "Where read_committed reads stop (the high watermark when no transaction is open)" }),
        logStartOffset: z.int(),
        replica: z.int().meta({ description: "The replica that answered" }),
      }),
    ),
    ...errors(),
  },
});

const binary = { [RECORD_BATCH_MEDIA_TYPE]: { schema: z.string().meta({ format: "binary" }) } };

const ProduceBatchesAnswer = z.strictObject({
  partition: z.int(),
  baseOffset: z.int(),
  lastOffset: z.int(),
  batches: z.array(
    z.strictObject({
      baseOffset: z.int(),
      lastOffset: z.int(),
      duplicate: z.boolean().meta({ description: "A retry: the original offsets" }),
    }),
  ),
  highWatermark: z.int(),
  logStartOffset: z.int(),
});

export const produceBatches = route({
  method: "post",
  path: "/v1/topics/{topic}/partitions/{partition}/batches",
  summary: "Produce Kafka RecordBatch v2 bytes (one or more batches); idempotent with producer id, epoch and sequence",
  tags,
  bodyLimit: LIMITS.binaryBodyBytes,
  request: {
    params: PartitionParams,
    query: z.object({ acks: Acks }),
    headers: z.object({ [HEADERS.transactionalId]: TransactionalHeaders[HEADERS.transactionalId] }),
    body: { required: true, content: binary },
  },
  responses: {
    200: answer("Offsets of each batch (retries answer their original offsets with duplicate: true)", ProduceBatchesAnswer),
    202: answer(
      "acks=0: accepted before the append",
      z.strictObject({ partition: z.int(), baseOffset: z.null(), lastOffset: z.null(), batches: z.array(z.unknown()).max(0) }),
    ),
    ...errors({ 409: "OUT_OF_ORDER_SEQUENCE_NUMBER or PRODUCER_FENCED", 413: "MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE" }),
  },
});

export const fetchBatches = route({
  method: "get",
  path: "/v1/topics/{topic}/partitions/{partition}/batches",
  summary: "Fetch stored RecordBatch v2 bytes from an offset",
  description:
    "Whole batches (the first may begin before the offset, as in Kafka), with the headers Edgelog-High-Watermark, Edgelog-Log-Start-Offset, Edgelog-Next-Offset and Edgelog-Replica",
  tags,
  request: { params: PartitionParams, query: fetchQuery(Number.MAX_SAFE_INTEGER) },
  responses: { 200: { description: "The batches", content: binary }, ...errors() },
});

export const listOffsets = route({
  method: "get",
  path: "/v1/topics/{topic}/partitions/{partition}/offsets",
  summary: "List offsets: earliest, latest, or the first at or after a timestamp",
  tags,
  request: {
    params: PartitionParams,
    query: z.object({
      timestamp: z
        .union([z.enum(["earliest", "latest"]), z.int().min(0)])
        .default("latest")
        .meta({
          description: "earliest: the log start; latest: the high watermark; <ms>: the first offset whose timestamp is at or after it",
        }),
    }),
  },
  responses: {
    200: answer(
      "The offset (null when no record is that new)",
      z.union([
        z.strictObject({ topic: z.string(), partition: z.int(), timestamp: z.enum(["earliest", "latest"]), offset: z.int() }),
        z.strictObject({
          topic: z.string(),
          partition: z.int(),
          timestamp: z.int(),
          offset: z.int().nullable(),
          recordTimestamp: z.int().nullable(),
        }),
      ]),
    ),
    ...errors(),
  },
});

/** The header a WebSocket route requires. */
export const UpgradeHeaders = z.object({
  upgrade: z.string().regex(/^websocket$/i, "this route upgrades to a WebSocket: send Upgrade: websocket"),
});

export const subscribePartition = route({
  method: "get",
  path: "/v1/topics/{topic}/partitions/{partition}/subscribe",
  summary: "WebSocket push: stored records from the offset, then each new record as it is appended",
  description:
    "Send Upgrade: websocket (browsers may pass the token as ?access_token=). Frames, flow control and close codes: the README and protocol/wire.ts.",
  tags,
  request: {
    params: PartitionParams,
    headers: UpgradeHeaders,
    query: z.object({
      offset: OffsetQuery,
      format: z.enum(["json", "binary"]).default("json"),
      isolation: Isolation,
      mode: z
        .enum(["push", "credit"])
        .default("push")
        .meta({ description: "credit: start in credit mode with no credit (nothing is sent before the first grant)" }),
      access_token: z.string().optional().meta({ description: "The bearer token, for browsers (they cannot set headers on a WebSocket)" }),
    }),
  },
  responses: { 101: { description: "Switching protocols: the subscription" }, ...errors() },
});
