/**
 * How routes talk to partitions: the leader replica's stub, answers unwrapped into EdgelogErrors.
 */
import { decodeRecords } from "../protocol/record-batch";
import type { TopicMetadata } from "./controller/registry";
import { replicaStub } from "./controller/placement";
import type { Env } from "./env";
import { LIMITS } from "./http/limits";
import { partitionOf } from "./cluster";
import { unwrap } from "./outcome";
import type { AppendRequest, AppendResult, FetchRequest, LogStatus, ReadResult } from "./partition/types";

/** The stub of the partition's leader replica. */
export function leaderOf(env: Env, topic: TopicMetadata, partition: number) {
  const p = partitionOf(topic, partition);
  return replicaStub(env, topic.topicId, partition, p.leader);
}

export async function appendTo(env: Env, topic: TopicMetadata, partition: number, request: AppendRequest): Promise<AppendResult> {
  return unwrap(await leaderOf(env, topic, partition).append(request));
}

export async function readFrom(env: Env, topic: TopicMetadata, partition: number, request: FetchRequest): Promise<ReadResult> {
  return unwrap(await leaderOf(env, topic, partition).read(request));
}

export async function statusOf(env: Env, topic: TopicMetadata, partition: number): Promise<LogStatus> {
  return unwrap(await leaderOf(env, topic, partition).status());
}

/**
 * The first record at or after `timestamp` (Kafka's ListOffsets by time): the partition finds the
 * batch by its time index, the worker finds the record inside it. Null when no record is that new.
 */
export async function offsetForTimestamp(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  timestamp: number,
): Promise<{ offset: number; timestamp: number } | null> {
  const { batch } = unwrap(await leaderOf(env, topic, partition).batchAtTimestamp(timestamp));
  if (!batch) return null;
  const records = await decodeRecords(batch, { maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes });
  const record = records.find((r) => r.timestamp >= timestamp);
  return record ? { offset: record.offset, timestamp: record.timestamp } : null;
}
