/**
 * The HTTP vocabulary the client and the server share: media types and header names.
 *
 * Header names are lower-case, as fetch's Headers and Node's `IncomingMessage.headers` spell them
 * (HTTP itself ignores case: Idempotency-Key and idempotency-key are one header).
 *
 * @example
 * const res = await fetch(`${url}/v1/topics/t/partitions/0/batches?offset=0`);
 * const next = Number(res.headers.get(HEADERS.nextOffset));
 */

/** Content types of request and response bodies. */
export const MEDIA_TYPES = {
  /** One or more Kafka RecordBatch v2 (magic 2), back to back: binary produce bodies and fetch answers. */
  recordBatch: "application/vnd.kafka.record-batch.v2",
  /** JSON bodies: the JSON API's requests, answers and error bodies. */
  json: "application/json",
} as const;

/** The binary produce and fetch body type (as worker/api/routes/batches.ts has named it). */
export const RECORD_BATCH_MEDIA_TYPE = MEDIA_TYPES.recordBatch;

export const HEADERS = {
  /** Fetch answers (binary): the partition's high watermark, the offset after the last record every in-sync replica has. */
  highWatermark: "edgelog-high-watermark",
  /** Fetch answers (binary): the first offset retention kept. */
  logStartOffset: "edgelog-log-start-offset",
  /** Fetch answers (binary): where the next fetch starts (after the last record of the body). */
  nextOffset: "edgelog-next-offset",
  /** Fetch answers (binary): which replica answered (0 the leader's placement, else a follower). */
  replica: "edgelog-replica",
  /** Fetch answers (binary): the last stable offset, where read_committed reads stop. */
  lastStableOffset: "edgelog-last-stable-offset",
  /** Fetch answers (binary, read_committed): JSON [{"producerId", "firstOffset"}] of the aborted transactions the batches may hold (Kafka's aborted_transactions). */
  abortedTransactions: "edgelog-aborted-transactions",
  /** Produce requests: the transactional id whose ongoing transaction the records belong to. */
  transactionalId: "edgelog-transactional-id",
  /** JSON produce requests in a transaction: the producer id and epoch POST /v1/producers issued. */
  producerId: "edgelog-producer-id",
  producerEpoch: "edgelog-producer-epoch",
  /** JSON produce requests: makes a retried request append its records once (1 to 255 printable ASCII characters). */
  idempotencyKey: "idempotency-key",
  /** Requests: "Bearer <token>" when the worker has EDGELOG_TOKEN set (WebSockets pass ?access_token= instead). */
  authorization: "authorization",
  contentType: "content-type",
} as const;
