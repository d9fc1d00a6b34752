/**
 * Topic names follow Kafka's rules: 1 to 249 characters of [a-zA-Z0-9._-], and not "." or "..".
 */
import { EdgelogError } from "../../protocol/errors";

const LEGAL = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Throws INVALID_TOPIC_EXCEPTION unless `name` is a legal topic name.
 *
 * @example
 * checkTopicName("sensor.readings-v1"); // ok
 * checkTopicName("a/b");                // throws INVALID_TOPIC_EXCEPTION
 */
export function checkTopicName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !LEGAL.test(name) || name === "." || name === "..") {
    throw new EdgelogError(
      "INVALID_TOPIC_EXCEPTION",
      `invalid topic name ${JSON.stringify(name)}: use 1 to 249 characters of [a-zA-Z0-9._-], not "." or ".."`,
    );
  }
}
