/**
 * The worker's view of the cluster: the controller's stub and a short-lived metadata cache.
 *
 * Every produce and fetch needs its topic's id, partition count and config; asking the single
 * controller object each time would make it the bottleneck of the whole service. Each isolate
 * keeps what it learnt for METADATA_TTL_MS, drops it when it changes it itself (create, delete,
 * grow, alter), and refreshes it when a partition object answers that it does not know the topic
 * (Kafka clients refresh their metadata the same way on NOT_LEADER or UNKNOWN_TOPIC errors).
 */
import { EdgelogError } from "../../protocol/errors";
import type { TopicMetadata } from "../controller/registry";
import type { Env } from "../env";
import { unwrap } from "../outcome";

export const METADATA_TTL_MS = 5_000;

const cache = new Map<string, { topic: TopicMetadata; until: number }>();

/** The cluster's one controller object. */
export function controller(env: Env) {
  return env.CONTROLLER.get(env.CONTROLLER.idFromName("cluster"));
}

/** The topic's metadata, cached; UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
export async function topicMetadata(env: Env, name: string, fresh = false): Promise<TopicMetadata> {
  const hit = cache.get(name);
  if (hit && !fresh && hit.until > Date.now()) return hit.topic;
  const topic = unwrap(await controller(env).topic(name));
  cache.set(name, { topic, until: Date.now() + METADATA_TTL_MS });
  return topic;
}

/** Forgets a topic (after this isolate changed it, or a partition did not know it). */
export function forgetTopic(name: string): void {
  cache.delete(name);
}

/** Remembers metadata the controller just answered with. */
export function rememberTopic(topic: TopicMetadata): void {
  cache.set(topic.name, { topic, until: Date.now() + METADATA_TTL_MS });
}

/**
 * Runs `fn` with the topic's metadata; if it fails with UNKNOWN_TOPIC_OR_PARTITION on cached
 * metadata, runs it once more on fresh metadata (the topic may have been recreated or grown).
 */
export async function withTopic<T>(env: Env, name: string, fn: (topic: TopicMetadata) => Promise<T>): Promise<T> {
  const cached = cache.has(name);
  try {
    return await fn(await topicMetadata(env, name));
  } catch (err) {
    if (!cached || !(err instanceof EdgelogError) || err.code !== "UNKNOWN_TOPIC_OR_PARTITION") throw err;
    forgetTopic(name);
    return fn(await topicMetadata(env, name, true));
  }
}

/** The partition's metadata, or UNKNOWN_TOPIC_OR_PARTITION. */
export function partitionOf(topic: TopicMetadata, partition: number) {
  const p = topic.partitions[partition];
  if (!p)
    throw new EdgelogError(
      "UNKNOWN_TOPIC_OR_PARTITION",
      `topic "${topic.name}" has no partition ${partition} (it has ${topic.partitions.length})`,
    );
  return p;
}
