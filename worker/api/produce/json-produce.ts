/**
 * Produce from the JSON API: plans where each record goes, then appends one batch per partition.
 *
 * The plan: each record's partition is the one it names, else its key's (murmur2, as Kafka's),
 * else the unkeyed partition (sticky, or the idempotency key's home); the records of a partition
 * make one RecordBatch v2, encoded and size-checked before anything is appended. The appends run
 * in parallel, except that under an Idempotency-Key the home partition goes first. The answer
 * lists each record's partition and offset in request order.
 */
import { compacts, keylessOnCompacted } from "../../partition/cleaner";
import { EdgelogError } from "../../../protocol/errors";
import { partitionForKey } from "../../../protocol/murmur2";
import { encodeBatch, readBatchHeader } from "../../../protocol/record-batch";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import { appendTo } from "../../cluster/partition-client";
import type { Acks } from "../../partition/types";
import type { JsonRecordInput } from "./json-records";
import { type JsonTransaction, verifyJsonTransaction } from "./transactional";
import { partitionForIdempotencyKey, stickyPartition, stickySent } from "./partitioner";

export interface JsonProduceRequest {
  inputs: JsonRecordInput[];
  acks: Acks;
  /** The request's Idempotency-Key, and the digest of its body. */
  idempotencyKey?: string;
  digest?: string;
  /** Produce inside this producer's ongoing transaction (see transactional.ts). */
  transaction?: JsonTransaction;
}

/** Where one record went; the offset is null under acks=0, where none is known. */
export interface RecordOffset {
  partition: number;
  offset: number | null;
}

export interface JsonProduceResult {
  offsets: RecordOffset[];
  /** Under acks=0, the appends still running (their failure is logged, never thrown). */
  deferred?: Promise<void>;
}

/**
 * Appends the records to the topic. With acks 1 or all it resolves once every append is done;
 * with acks=0 at once, the appends left in `deferred` for the caller to keep alive.
 *
 * @example
 * const { offsets, deferred } = await produceJson(env, topic, { inputs, acks: "all" }, Date.now());
 */
export async function produceJson(env: Env, topic: TopicMetadata, request: JsonProduceRequest, now: number): Promise<JsonProduceResult> {
  const { inputs, acks, idempotencyKey, digest, transaction } = request;
  const count = topic.partitions.length;
  const unkeyed = idempotencyKey !== undefined ? partitionForIdempotencyKey(idempotencyKey, count) : stickyPartition(topic.topicId, count);
  const byPartition = new Map<number, number[]>();
  const compacted = compacts(topic.config["cleanup.policy"]);
  inputs.forEach((input, i) => {
    if (compacted && input.key === null) throw keylessOnCompacted(topic.name, `record ${i}`);
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
      const bytes = await encodeBatch(
        indexes.map((i) => inputs[i].record),
        transaction
          ? { timestamp: now, producerId: transaction.producerId, producerEpoch: transaction.producerEpoch, isTransactional: true }
          : { timestamp: now },
      );
      if (bytes.byteLength > topic.config["max.message.bytes"]) {
        throw new EdgelogError(
          "MESSAGE_TOO_LARGE",
          `the records for partition ${partition} make a batch of ${bytes.byteLength} bytes, above max.message.bytes ${topic.config["max.message.bytes"]}`,
        );
      }
      return { partition, indexes, bytes };
    }),
  );
  if (transaction) {
    await verifyJsonTransaction(
      env,
      transaction,
      batches.map((b) => ({ topic: topic.name, partition: b.partition })),
    );
  }
  const unkeyedBytes = batches.find((b) => b.partition === unkeyed)?.bytes.byteLength ?? 0;
  if (idempotencyKey === undefined && unkeyedBytes > 0) stickySent(topic.topicId, count, unkeyedBytes);

  const offsets = new Array<RecordOffset>(inputs.length);
  const appendOne = async ({ partition, indexes, bytes }: (typeof batches)[number]) => {
    const result = await appendTo(env, topic, partition, {
      batches: [{ header: readBatchHeader(bytes, 0, { checkCrc: false }), bytes }],
      acks,
      idempotencyKey,
      digest,
    });
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
      else await appendTo(env, topic, unkeyed, { batches: [], acks, idempotencyKey, digest });
      rest = batches.filter((b) => b !== home);
    }
    await appendEach(rest.map(appendOne), idempotencyKey !== undefined || rest.length < batches.length);
  })();
  if (acks !== 0) {
    await appendAll;
    return { offsets };
  }
  // Kafka's acks=0: the producer is not told the outcome, and no offsets are known.
  const deferred = appendAll.catch((err) => console.error("edgelog: acks=0 append failed", err));
  const unacknowledged = new Array<RecordOffset>(inputs.length);
  for (const [partition, indexes] of byPartition) for (const i of indexes) unacknowledged[i] = { partition, offset: null };
  return { offsets: unacknowledged, deferred };
}

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
