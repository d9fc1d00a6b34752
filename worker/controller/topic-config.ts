/**
 * Per-topic configuration, as the controller applies it: the table of keys, bounds and defaults
 * is protocol/api/topic-config.ts (shared with the routes and the OpenAPI document).
 *
 * Stored with the topic in the controller and copied into each partition object, which enforces
 * it (retention by its alarm, max.message.bytes and min.insync.replicas on append).
 */
import { parse } from "../../protocol/api/schema";
import { DEFAULT_TOPIC_CONFIG, TopicConfigChanges, type TopicConfig } from "../../protocol/api/topic-config";

export { DEFAULT_TOPIC_CONFIG, MAX_MESSAGE_BYTES_CEILING, type TopicConfig } from "../../protocol/api/topic-config";

/**
 * Validates a partial config (unknown keys and bad values are INVALID_CONFIG) and merges it
 * over `base`. Values may be numbers or their decimal strings, as Kafka's tools send them.
 *
 * @example
 * resolveTopicConfig({ "retention.ms": "3600000" }) // { ...DEFAULT_TOPIC_CONFIG, "retention.ms": 3600000 }
 */
export function resolveTopicConfig(changes: unknown, base: TopicConfig = DEFAULT_TOPIC_CONFIG): TopicConfig {
  return mergeTopicConfig(changes === undefined ? {} : parse(TopicConfigChanges, changes, "config"), base);
}

/** Merges changes that were already validated (by the route's schema) over `base`. */
export function mergeTopicConfig(changes: Partial<TopicConfig>, base: TopicConfig = DEFAULT_TOPIC_CONFIG): TopicConfig {
  const out = { ...base };
  for (const [key, value] of Object.entries(changes)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}
