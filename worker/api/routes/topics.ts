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
import { isInternalTopic } from "../../access/authorizer";
import { unwrap } from "../../outcome";
import { cluster, may, topic as onTopic } from "../http/auth";
import { type App, type Ctx, serve } from "../http/serve";

/**
 * The description of a topic: metadata from the controller, offsets from each partition's leader
 * (null for a partition whose leader cannot answer now: the description is still given), and its
 * config for a principal that may DescribeConfigs (as Kafka keeps configs behind that operation).
 */
async function describe(c: Ctx, topic: TopicMetadata) {
  const env = c.env;
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
  const base = { name: topic.name, topicId: topic.topicId, replicationFactor: topic.replicationFactor, partitions };
  return (await may(c, onTopic(topic.name, "DescribeConfigs"))) ? { ...base, config: topic.config } : base;
}

export function topics(app: App): void {
  serve(
    app,
    api.createTopic,
    // Create on the cluster or on the topic, as Kafka; an internal topic's name (__audit) only a
    // superuser may create, since Create on the cluster would let anyone make one (and pre-create
    // __audit with a retention of their choosing).
    {
      needs: ({ body }) =>
        isInternalTopic(body.name) ? [onTopic(body.name, "Create")] : [[cluster("Create"), onTopic(body.name, "Create")]],
      audit: true,
    },
    async (c, { body }) => {
      const topic = unwrap(await controller(c.env).createTopic(body));
      rememberTopic(topic);
      return c.json(await describe(c, topic), 201);
    },
  );

  serve(app, api.listTopics, { needs: () => [] }, async (c) => {
    const all = await controller(c.env).listTopics();
    // As Kafka's metadata: only the topics the principal may Describe.
    const visible = [];
    for (const t of all) if (await may(c, onTopic(t.name, "Describe"))) visible.push(t);
    return c.json({
      topics: visible.map((t) => ({
        name: t.name,
        topicId: t.topicId,
        partitions: t.partitions.length,
        replicationFactor: t.replicationFactor,
      })),
    });
  });

  serve(app, api.describeTopic, { needs: ({ params }) => [onTopic(params.topic, "Describe")] }, async (c, { params }) => {
    const topic = unwrap(await controller(c.env).topic(params.topic));
    rememberTopic(topic);
    return c.json(await describe(c, topic));
  });

  serve(app, api.deleteTopic, { needs: ({ params }) => [onTopic(params.topic, "Delete")], audit: true }, async (c, { params }) => {
    forgetTopic(params.topic);
    const topic = unwrap(await controller(c.env).deleteTopic(params.topic));
    return c.json({ name: topic.name, topicId: topic.topicId, deleted: true });
  });

  serve(app, api.growTopic, { needs: ({ params }) => [onTopic(params.topic, "Alter")], audit: true }, async (c, { params, body }) => {
    const topic = unwrap(await controller(c.env).createPartitions(params.topic, body.count));
    rememberTopic(topic);
    return c.json(await describe(c, topic));
  });

  serve(
    app,
    api.alterTopicConfig,
    { needs: ({ params }) => [onTopic(params.topic, "AlterConfigs")], audit: true },
    async (c, { params, body }) => {
      const topic = unwrap(await controller(c.env).alterConfig(params.topic, body.config));
      rememberTopic(topic);
      return c.json(await describe(c, topic));
    },
  );
}
