/**
 * Names and numbers that many routes share: topic names, group ids, partitions, offsets.
 * Kafka's rules: topic names and group ids are 1 to 249 characters of [a-zA-Z0-9._-].
 */
import { z } from "zod";
import { coded } from "./schema";

/** The characters and length Kafka allows in a topic name or group id. */
export const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/** A legal topic name: [a-zA-Z0-9._-]{1,249}, not "." or ".."; INVALID_TOPIC_EXCEPTION otherwise. */
export const TopicName = coded(
  z
    .string()
    .regex(NAME_PATTERN, 'use 1 to 249 characters of [a-zA-Z0-9._-], not "." or ".."')
    .refine((name) => name !== "." && name !== "..", 'a topic name may not be "." or ".."')
    .meta({ description: 'Kafka\'s rules: 1 to 249 characters of [a-zA-Z0-9._-], not "." or ".."', example: "sensors" }),
  "INVALID_TOPIC_EXCEPTION",
);

/** A legal group id; INVALID_GROUP_ID otherwise. */
export const GroupId = coded(
  z.string().regex(NAME_PATTERN, "invalid group id: use 1 to 249 characters of [a-zA-Z0-9._-]").meta({ example: "dashboard" }),
  "INVALID_GROUP_ID",
);

/** The most partitions a topic may have. */
export const MAX_PARTITIONS = 1_000;

/** A partition number (path or body). */
export const PartitionNumber = z.int().min(0).max(1_000_000);

/** A non-negative offset. */
export const Offset = z.int().min(0);

/** The topic-partition pair of assignments and offsets. */
export const TopicPartition = z.strictObject({ topic: z.string(), partition: z.int().min(0) }).meta({ id: "TopicPartition" });

/** Path parameters of topic routes. The name is looked up, not pattern-checked: an illegal one is simply unknown (404). */
export const TopicParams = z.object({ topic: z.string().meta({ description: "Topic name" }) });

/** Path parameters of partition routes. */
export const PartitionParams = z.object({ topic: z.string().meta({ description: "Topic name" }), partition: PartitionNumber });

/** Path parameters of group routes. */
export const GroupParams = z.object({ group: GroupId });

/** Path parameters of member routes. */
export const MemberParams = z.object({ group: GroupId, memberId: z.string().meta({ description: "As the join answered it" }) });
