/**
 * The answers of the HTTP API the client reads, inferred from the route declarations in
 * protocol/api/ (the schemas the worker validates with and documents): no hand-written copies.
 * Type-only: zod never enters the client bundle.
 */
import type * as admin from "../protocol/api/admin";
import type * as groups from "../protocol/api/groups";
import type * as records from "../protocol/api/records";
import type { Answer } from "../protocol/api/schema";
import type * as topics from "../protocol/api/topics";

/** POST /v1/groups/{group}/members and …/heartbeat. */
export type MemberAnswer = Answer<typeof groups.joinGroup, 200>;
/** GET /v1/groups/{group}/offsets. */
export type CommittedOffsetsAnswer = Answer<typeof groups.committedOffsets, 200>;
/** GET /v1/topics/{topic}/partitions/{p}/offsets. */
export type ListOffsetsAnswer = Answer<typeof records.listOffsets, 200>;
/** GET /v1/topics/{topic}. */
export type TopicDescription = Answer<typeof topics.describeTopic, 200>;
/** POST /v1/producers. */
export type ProducerIdAnswer = Answer<typeof admin.initProducer, 200>;
/** POST /v1/topics/{topic}/partitions/{p}/batches. */
export type ProduceBatchesAnswer = Answer<typeof records.produceBatches, 200>;
