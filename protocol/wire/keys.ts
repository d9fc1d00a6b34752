/**
 * The one key of a topic-partition in maps and stores: topic, NUL, partition number. A topic
 * name is [a-zA-Z0-9._-] (worker/controller/topic-name.ts), never NUL: two partitions never
 * share a key.
 *
 * The format is frozen: clients persist it (the offset cache and the outbox's sequences live in
 * IndexedDB), so a changed key would orphan stored data (test/protocol/wire.test.ts).
 *
 * @example
 * topicPartitionKey("orders", 3); // "orders\u00003"
 */

/** A partition of a topic. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

export function topicPartitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** topicPartitionKey of a {topic, partition}. */
export const tpKey = (tp: TopicPartition): string => topicPartitionKey(tp.topic, tp.partition);
