/**
 * Topic administration:
 *
 *   POST   /v1/topics                     {"name", "partitions"?, "replicationFactor"?, "config"?} -> 201 description
 *   GET    /v1/topics                     -> {"topics": [{name, topicId, partitions, replicationFactor}]}
 *   GET    /v1/topics/{topic}             -> description: partitions (leader, replicas, isr, leaderEpoch,
 *                                            logStartOffset, highWatermark, sizeBytes, regions) and config
 *   DELETE /v1/topics/{topic}             -> wipes its partitions' storage and alarms
 *   POST   /v1/topics/{topic}/partitions  {"count": N}      grows to N partitions (never shrinks)
 *   PATCH  /v1/topics/{topic}/config      {"config": {...}} changes settings
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { MAX_PARTITIONS, TopicName, TopicParams } from "./names";
import { answer, coded, errors, json, route } from "./schema";
import { TopicConfigChanges, TopicConfigSchema } from "./topic-config";

const tags = ["topics"];

const PartitionDescription = z
  .strictObject({
    partition: z.int(),
    leader: z.int().meta({ description: "Replica id of the leader" }),
    replicas: z.array(z.int()),
    isr: z.array(z.int()).meta({ description: "The in-sync set" }),
    leaderEpoch: z.int(),
    logStartOffset: z.int().nullable().meta({ description: "null while the leader cannot answer (replicated topics)" }),
    highWatermark: z.int().nullable(),
    sizeBytes: z.int().nullable(),
    regions: z.array(z.string()).meta({ description: "Region (locationHint) of each replica, in the order of replicas" }),
  })
  .meta({ id: "PartitionDescription" });

export const TopicDescription = z
  .strictObject({
    name: z.string(),
    topicId: z.string(),
    replicationFactor: z.int(),
    partitions: z.array(PartitionDescription),
    /** Present for a principal that may DescribeConfigs the topic. */
    config: TopicConfigSchema.optional(),
  })
  .meta({ id: "TopicDescription" });

export const createTopic = route({
  method: "post",
  path: "/v1/topics",
  summary: "Create a topic",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    body: {
      required: true,
      content: json(
        z.strictObject({
          name: TopicName,
          partitions: coded(z.int().min(1).max(MAX_PARTITIONS), "INVALID_PARTITIONS").default(1),
          replicationFactor: coded(z.int().min(1), "INVALID_REPLICATION_FACTOR")
            .default(1)
            .meta({ description: "Replicas per partition, each in a different region (at most the number of regions)" }),
          config: TopicConfigChanges.optional(),
        }),
      ),
    },
  },
  responses: {
    201: answer("Created", TopicDescription),
    ...errors({ 409: "TOPIC_ALREADY_EXISTS", 413: "RECORD_LIST_TOO_LARGE: the body is over 64 KiB" }),
  },
});

export const listTopics = route({
  method: "get",
  path: "/v1/topics",
  summary: "List topics",
  tags,
  responses: {
    200: answer(
      "Topics",
      z.strictObject({
        topics: z.array(z.strictObject({ name: z.string(), topicId: z.string(), partitions: z.int(), replicationFactor: z.int() })),
      }),
    ),
    ...errors(),
  },
});

export const describeTopic = route({
  method: "get",
  path: "/v1/topics/{topic}",
  summary: "Describe a topic",
  tags,
  request: { params: TopicParams },
  responses: { 200: answer("Description", TopicDescription), ...errors() },
});

export const deleteTopic = route({
  method: "delete",
  path: "/v1/topics/{topic}",
  summary: "Delete a topic and wipe its partitions' storage",
  tags,
  request: { params: TopicParams },
  responses: { 200: answer("Deleted", z.strictObject({ name: z.string(), topicId: z.string(), deleted: z.literal(true) })), ...errors() },
});

export const growTopic = route({
  method: "post",
  path: "/v1/topics/{topic}/partitions",
  summary: "Grow the topic to `count` partitions (never shrinks)",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    params: TopicParams,
    body: { required: true, content: json(z.strictObject({ count: coded(z.int().min(1).max(MAX_PARTITIONS), "INVALID_PARTITIONS") })) },
  },
  responses: { 200: answer("Description", TopicDescription), ...errors({ 413: "RECORD_LIST_TOO_LARGE" }) },
});

export const alterTopicConfig = route({
  method: "patch",
  path: "/v1/topics/{topic}/config",
  summary: "Change topic settings",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: { params: TopicParams, body: { required: true, content: json(z.strictObject({ config: TopicConfigChanges })) } },
  responses: { 200: answer("Description", TopicDescription), ...errors({ 413: "RECORD_LIST_TOO_LARGE" }) },
});
