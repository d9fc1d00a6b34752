/**
 * List offsets (Kafka's ListOffsets):
 *
 *   GET /v1/topics/{topic}/partitions/{p}/offsets?timestamp=earliest|latest|<ms>
 *     earliest -> the log start offset; latest -> the high watermark (the next offset to be written
 *     and read); <ms> -> the first offset whose record timestamp is at or after it, or null when
 *     no record is that new (Kafka answers -1 there).
 */
import { Hono } from "hono";
import { withTopic } from "../../cluster/metadata";
import type { Env } from "../../env";
import { intParam } from "../http/params";
import { offsetForTimestamp, statusOf } from "../../cluster/partition-client";
import { partitionParam } from "./fetch-params";

export const offsets = new Hono<{ Bindings: Env }>();

offsets.get("/v1/topics/:topic/partitions/:partition/offsets", async (c) => {
  const partition = partitionParam(c.req.param("partition"));
  const spec = c.req.query("timestamp") ?? "latest";
  const timestamp = spec === "earliest" || spec === "latest" ? spec : intParam(spec, "timestamp", { min: 0 });
  return withTopic(c.env, c.req.param("topic"), async (topic) => {
    if (timestamp === "earliest" || timestamp === "latest") {
      const status = await statusOf(c.env, topic, partition);
      const offset = timestamp === "earliest" ? status.logStartOffset : status.highWatermark;
      return c.json({ topic: topic.name, partition, timestamp, offset });
    }
    const found = await offsetForTimestamp(c.env, topic, partition, timestamp);
    return c.json({ topic: topic.name, partition, timestamp, offset: found?.offset ?? null, recordTimestamp: found?.timestamp ?? null });
  });
});
