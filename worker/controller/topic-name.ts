/**
 * Topic names follow Kafka's rules (protocol/api/names.ts): 1 to 249 characters of
 * [a-zA-Z0-9._-], and not "." or "..".
 */
import { TopicName } from "../../protocol/api/names";
import { parse } from "../../protocol/api/schema";

/**
 * Throws INVALID_TOPIC_EXCEPTION unless `name` is a legal topic name.
 *
 * @example
 * checkTopicName("sensor.readings-v1"); // ok
 * checkTopicName("a/b");                // throws INVALID_TOPIC_EXCEPTION
 */
export function checkTopicName(name: unknown): asserts name is string {
  parse(TopicName, name, "topic name");
}
