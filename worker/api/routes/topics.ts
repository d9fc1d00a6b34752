/**
 * Topic administration:
 *
 *   POST   /v1/topics                          {"name", "partitions"?, "replicationFactor"?, "config"?} -> 201
 *   GET    /v1/topics                          -> {"topics": [{name, topicId, partitions, replicationFactor}]}
 *   GET    /v1/topics/{topic}                  -> the description (partitions with leader, replicas,
 *                                                 isr, leaderEpoch, logStartOffset, highWatermark, regions; config)
 *   DELETE /v1/topics/{topic}                  -> wipes its partitions' storage and alarms
 *   POST   /v1/topics/{topic}/partitions       {"count": N}   grows to N partitions (never shrinks)
 *   PATCH  /v1/topics/{topic}/config           {"config": {...}}  changes settings
 */
import { Hono } from "hono";
import { ERROR_CODES, EdgelogError } from "../../../protocol/errors";
import { controller, forgetTopic, rememberTopic } from "../../cluster/metadata";
import { regionsOf } from "../../controller/placement";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { onlyFields, readJsonObject } from "../http/params";
import { unwrap } from "../../outcome";
import { statusOf } from "../../cluster/partition-client";

export const topics = new Hono<{ Bindings: Env }>();

/**
 * The description of a topic: metadata from the controller, offsets from each partition's leader
 * (null for a partition whose leader cannot answer now: the description is still given).
 */
async function describe(env: Env, topic: TopicMetadata) {
  const regions = regionsOf(env);
  const partitions = await Promise.all(
    topic.partitions.map(async (p) => {
      const status = await statusOf(env, topic, p.partition).catch((err) => {
        if (topic.replicationFactor === 1 || !(err instanceof EdgelogError) || !ERROR_CODES[err.code].retriable) throw err;
        return { logStartOffset: null, highWatermark: null, sizeBytes: null };
      });
      return {
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        leaderEpoch: p.leaderEpoch,
        logStartOffset: status.logStartOffset,
        highWatermark: status.highWatermark,
        sizeBytes: status.sizeBytes,
        regions: p.replicas.map((r) => regions[r % regions.length]),
      };
    }),
  );
  return { name: topic.name, topicId: topic.topicId, replicationFactor: topic.replicationFactor, partitions, config: topic.config };
}

topics.post("/v1/topics", async (c) => {
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["name", "partitions", "replicationFactor", "config"]);
  const topic = unwrap(await controller(c.env).createTopic({ name: body.name, partitions: body.partitions, replicationFactor: body.replicationFactor, config: body.config }));
  rememberTopic(topic);
  return c.json(await describe(c.env, topic), 201);
});

topics.get("/v1/topics", async (c) => {
  const all = await controller(c.env).listTopics();
  return c.json({
    topics: all.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions.length, replicationFactor: t.replicationFactor })),
  });
});

topics.get("/v1/topics/:topic", async (c) => {
  const topic = unwrap(await controller(c.env).topic(c.req.param("topic")));
  rememberTopic(topic);
  return c.json(await describe(c.env, topic));
});

topics.delete("/v1/topics/:topic", async (c) => {
  const name = c.req.param("topic");
  forgetTopic(name);
  const topic = unwrap(await controller(c.env).deleteTopic(name));
  return c.json({ name: topic.name, topicId: topic.topicId, deleted: true });
});

topics.post("/v1/topics/:topic/partitions", async (c) => {
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["count"]);
  const topic = unwrap(await controller(c.env).createPartitions(c.req.param("topic"), body.count));
  rememberTopic(topic);
  return c.json(await describe(c.env, topic));
});

topics.patch("/v1/topics/:topic/config", async (c) => {
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["config"]);
  if (typeof body.config !== "object" || body.config === null || Array.isArray(body.config)) {
    throw new EdgelogError("INVALID_CONFIG", `"config" must be an object of topic settings`);
  }
  const topic = unwrap(await controller(c.env).alterConfig(c.req.param("topic"), body.config));
  rememberTopic(topic);
  return c.json(await describe(c.env, topic));
});
