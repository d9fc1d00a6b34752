/**
 * Transactions (KIP-98), as routes: a transactional producer adds partitions and consumer
 * offsets to its transaction, produces, then commits or aborts. The producer id and epoch come
 * from POST /v1/producers {"transactionalId"} (admin.ts), which fences older instances.
 *
 *   POST /v1/transactions/{transactionalId}/partitions  {"producerId", "producerEpoch", "partitions": [{topic, partition}]}
 *   POST /v1/transactions/{transactionalId}/offsets     {"producerId", "producerEpoch", "groupId", "offsets": [{topic, partition, offset, metadata?}]}
 *   POST /v1/transactions/{transactionalId}/commit      {"producerId", "producerEpoch"}
 *   POST /v1/transactions/{transactionalId}/abort       {"producerId", "producerEpoch"}
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { GroupId, Offset, TopicName } from "./names";
import { answer, errors, json, route } from "./schema";

const tags = ["transactions"];

/** The most partitions (and offsets) one request adds. */
export const MAX_TXN_PARTITIONS = 1_000;

const TransactionParams = z.object({
  transactionalId: z.string().min(1).max(255).meta({ description: "The producer's transactional id" }),
});

const Producer = {
  producerId: z.int().min(0).meta({ description: "As POST /v1/producers issued it" }),
  producerEpoch: z.int().min(0).max(0x7fff),
};

export const TxnState = z.enum(["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort"]);

const fenced = {
  409: "PRODUCER_FENCED (a newer instance of the producer exists), INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_ID_MAPPING, INVALID_TXN_STATE, CONCURRENT_TRANSACTIONS (retriable)",
} as const;

const TxnPartition = z.strictObject({ topic: TopicName, partition: z.int().min(0) });

export const addPartitions = route({
  method: "post",
  path: "/v1/transactions/{transactionalId}/partitions",
  summary: "Add partitions to the transaction (beginning it if none is ongoing)",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    params: TransactionParams,
    body: {
      required: true,
      content: json(z.strictObject({ ...Producer, partitions: z.array(TxnPartition).min(1).max(MAX_TXN_PARTITIONS) })),
    },
  },
  responses: {
    200: answer("Added", z.strictObject({ state: TxnState, partitions: z.array(TxnPartition) })),
    ...errors(fenced),
  },
});

export const addOffsets = route({
  method: "post",
  path: "/v1/transactions/{transactionalId}/offsets",
  summary: "Commit a group's offsets as part of the transaction (Kafka's sendOffsetsToTransaction)",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    params: TransactionParams,
    body: {
      required: true,
      content: json(
        z.strictObject({
          ...Producer,
          groupId: GroupId,
          offsets: z
            .array(
              z.strictObject({
                topic: TopicName,
                partition: z.int().min(0),
                offset: Offset,
                metadata: z.string().max(4096).nullable().optional(),
              }),
            )
            .min(1)
            .max(MAX_TXN_PARTITIONS),
        }),
      ),
    },
  },
  responses: { 200: answer("Added", z.strictObject({ state: TxnState })), ...errors(fenced) },
});

const end = (outcome: "commit" | "abort") =>
  route({
    method: "post",
    path: `/v1/transactions/{transactionalId}/${outcome}`,
    summary:
      outcome === "commit"
        ? "Commit the transaction: COMMIT markers on every partition in it, then its offsets"
        : "Abort the transaction: ABORT markers on every partition in it",
    tags,
    bodyLimit: LIMITS.adminBodyBytes,
    request: { params: TransactionParams, body: { required: true, content: json(z.strictObject(Producer)) } },
    responses: { 200: answer("Ended", z.strictObject({ state: TxnState })), ...errors(fenced) },
  });

export const commitTransaction = end("commit");
export const abortTransaction = end("abort");
