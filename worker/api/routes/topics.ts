/**
 * Topic administration (declared in protocol/api/topics.ts): create, list, describe, delete,
 * grow, alter config. The controller object keeps topics; each partition's leader answers its
 * offsets for a description.
 */
import { ERROR_CODES, EdgelogError } from "../../../protocol/errors";
import { topics as api } from "../../../protocol/api";
import { controller, forgetTopic, rememberTopic } from "../../cluster/metadata";
import { statusOf } from "../../cluster/partition-client";
import { regionsOf } from "../../controller/placement";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import { unwrap } from "../../outcome";
import { type App, serve } from "../http/serve";

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

export function topics(app: App): void {
  serve(app, api.createTopic, async (c, { body }) => {
    const topic = unwrap(await controller(c.env).createTopic(body));
    rememberTopic(topic);
    return c.json(await describe(c.env, topic), 201);
  });

  serve(app, api.listTopics, async (c) => {
    const all = await controller(c.env).listTopics();
    return c.json({
      topics: all.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.length,
        replicationFactor: t.replicationFactor,
      })),
    });
  });

  serve(app, api.describeTopic, async (c, { params }) => {
    const topic = unwrap(await controller(c.env).topic(params.topic));
    rememberTopic(topic);
    return c.json(await describe(c.env, topic));
  });

  serve(app, api.deleteTopic, async (c, { params }) => {
    forgetTopic(params.topic);
    const topic = unwrap(await controller(c.env).deleteTopic(params.topic));
    return c.json({ name: topic.name, topicId: topic.topicId, deleted: true });
  });

  serve(app, api.growTopic, async (c, { params, body }) => {
    const topic = unwrap(await controller(c.env).createPartitions(params.topic, body.count));
    rememberTopic(topic);
    return c.json(await describe(c.env, topic));
  });

  serve(app, api.alterTopicConfig, async (c, { params, body }) => {
    const topic = unwrap(await controller(c.env).alterConfig(params.topic, body.config));
    rememberTopic(topic);
    return c.json(await describe(c.env, topic));
  });
}
