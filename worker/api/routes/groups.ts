/**
 * Consumer groups (declared in protocol/api/groups.ts; one Durable Object per group): join,
 * heartbeat, leave, the group subscription socket, commits, committed offsets, resets,
 * describe, list and delete.
 */
import type { z } from "zod";
import { groups as api } from "../../../protocol/api";
import type { ResetTarget } from "../../../protocol/api/groups";
import { EdgelogError } from "../../../protocol/errors";
import { topicPartitionKey as tpKey } from "../../../protocol/wire";
import { passGrant } from "../../access/socket-access";
import { controller, topicMetadata } from "../../cluster/metadata";
import { offsetForTimestamp, statusOf } from "../../cluster/partition-client";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import type { OffsetCommit } from "../../group/coordinator";
import { unwrap } from "../../outcome";
import { cluster, deny, group as onGroup, may, topic as onTopic } from "../http/auth";
import { type App, type Ctx, serve } from "../http/serve";

const groupStub = (env: Env, group: string) => env.GROUP.get(env.GROUP.idFromName(group));

/** The topics' metadata, refusing unknown topics (404). */
async function knownTopics(env: Env, names: readonly string[]): Promise<Map<string, TopicMetadata>> {
  const topics = new Map<string, TopicMetadata>();
  for (const name of names) if (!topics.has(name)) topics.set(name, await topicMetadata(env, name));
  return topics;
}

export function groups(app: App): void {
  serve(
    app,
    api.joinGroup,
    { needs: ({ params, body }) => [onGroup(params.group, "Read"), ...body.topics.map((t) => onTopic(t, "Read"))], audit: true },
    async (c, { params: { group }, body }) => {
      const stub = groupStub(c.env, group);
      const metadata = await knownTopics(c.env, body.topics);
      const counts = Object.fromEntries([...metadata].map(([name, t]) => [name, t.partitions.length]));
      const answer = unwrap(
        await stub.join({
          group,
          topics: [...metadata.keys()],
          instanceId: body.instanceId ?? null,
          sessionTimeoutMs: body.sessionTimeoutMs,
          assignor: body.assignor,
          counts,
        }),
      );
      return c.json(answer);
    },
  );

  serve(app, api.heartbeat, { needs: ({ params }) => [onGroup(params.group, "Read")] }, async (c, { params }) => {
    const answer = unwrap(await groupStub(c.env, params.group).heartbeat(params.memberId));
    // Member ids are in the group's description: a principal with Read on the group may heartbeat
    // any member, and is told only the partitions of topics it may Describe.
    return c.json({ ...answer, assignment: await visibleTo(c, answer.assignment), pending: await visibleTo(c, answer.pending) });
  });

  serve(
    app,
    api.subscribeGroup,
    { needs: ({ params }) => [onGroup(params.group, "Read")] },
    async (c, { params: { group, memberId }, query }) => {
      // The socket streams the member's topics: each needs Read, as joining and committing do (a
      // principal with Read on the group alone could otherwise read them through a member's socket).
      if (c.get("grant").via !== "open") {
        const member = (await groupStub(c.env, group).describe()).members.find((m) => m.memberId === memberId);
        for (const name of member?.topics ?? []) {
          if (!(await may(c, onTopic(name, "Read")))) deny(c, "GET /v1/groups/{group}/members/{memberId}/subscribe", onTopic(name, "Read"));
        }
      }
      // The member's existence is the session's to check: an unknown member is told over the socket
      // (close code 4025), which a browser can see, where a refused upgrade is only an anonymous error.
      const url = new URL("https://session/subscribe");
      url.searchParams.set("group", group);
      url.searchParams.set("memberId", memberId);
      url.searchParams.set("autoOffsetReset", query.autoOffsetReset);
      url.searchParams.set("isolation", query.isolation);
      passGrant(url, c.get("grant"));
      const session = c.env.SESSION.get(c.env.SESSION.idFromName(`${group}/${memberId}`));
      return session.fetch(new Request(url, { headers: c.req.raw.headers }));
    },
  );

  serve(app, api.leaveGroup, { needs: ({ params }) => [onGroup(params.group, "Read")], audit: true }, async (c, { params }) => {
    unwrap(await groupStub(c.env, params.group).leave(params.memberId));
    return c.json({ memberId: params.memberId, left: true as const });
  });

  serve(
    app,
    api.commitOffsets,
    { needs: ({ params, body }) => [onGroup(params.group, "Read"), ...body.offsets.map((o) => onTopic(o.topic, "Read"))], audit: true },
    async (c, { params, body }) => {
      const stub = groupStub(c.env, params.group);
      const commits = await checkCommits(c.env, body.offsets);
      unwrap(await stub.commit(body.memberId, body.generation, commits));
      return c.json({ committed: commits.length });
    },
  );

  serve(app, api.committedOffsets, { needs: ({ params }) => [onGroup(params.group, "Describe")] }, async (c, { params }) => {
    const offsets = await groupStub(c.env, params.group).offsets();
    return c.json({ offsets: await visibleTo(c, offsets) });
  });

  serve(
    app,
    api.resetOffsets,
    { needs: ({ params, body }) => [onGroup(params.group, "Read"), ...(body.topics ?? []).map((t) => onTopic(t, "Read"))], audit: true },
    async (c, { params: { group }, body }) => {
      const stub = groupStub(c.env, group);
      let names = body.topics;
      if (names === undefined) {
        const described = await stub.describe();
        names = [...new Set([...Object.keys(described.partitionCounts), ...described.offsets.map((o) => o.topic)])];
        // Every topic of the group is reset: each needs Read, as when it is named.
        for (const name of names)
          if (!(await may(c, onTopic(name, "Read")))) deny(c, "POST /v1/groups/{group}/offsets/reset", onTopic(name, "Read"));
      }
      const topics = await knownTopics(c.env, names);
      const offsets: OffsetCommit[] = [];
      for (const topic of topics.values()) {
        await Promise.all(
          topic.partitions.map(async ({ partition }) => {
            offsets.push({ topic: topic.name, partition, offset: await resolvePosition(c.env, topic, partition, body.to), metadata: null });
          }),
        );
      }
      const { resetId } = unwrap(await stub.reset(group, offsets));
      offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      return c.json({ resetId, offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })) });
    },
  );

  serve(app, api.describeGroup, { needs: ({ params }) => [onGroup(params.group, "Describe")] }, async (c, { params: { group } }) => {
    const d = await groupStub(c.env, group).describe();
    const committed = new Map(d.offsets.map((o) => [tpKey(o.topic, o.partition), o.offset]));
    const names = [...new Set([...Object.keys(d.partitionCounts), ...d.offsets.map((o) => o.topic)])].sort();
    // As Kafka's DescribeGroups/OffsetFetch, a topic the principal may not Describe is not shown:
    // not in the lag rows, not in a member's subscription or assignment.
    const describable = new Set<string>();
    for (const name of new Set([...names, ...d.members.flatMap((m) => m.topics)])) {
      if (await may(c, onTopic(name, "Describe"))) describable.add(name);
    }
    const partitions: { topic: string; partition: number; committed: number | null; highWatermark: number; lag: number }[] = [];
    for (const name of names) {
      if (!describable.has(name)) continue;
      let topic: TopicMetadata;
      try {
        topic = await topicMetadata(c.env, name);
      } catch (err) {
        if (err instanceof EdgelogError && err.code === "UNKNOWN_TOPIC_OR_PARTITION") continue; // deleted since
        throw err;
      }
      const rows = await Promise.all(
        topic.partitions.map(async ({ partition }) => {
          const status = await statusOf(c.env, topic, partition);
          const offset = committed.get(tpKey(name, partition)) ?? null;
          // Without a commit a consumer starts at the log start (auto.offset.reset=earliest).
          const from = offset ?? status.logStartOffset;
          return {
            topic: name,
            partition,
            committed: offset,
            highWatermark: status.highWatermark,
            // To the last stable offset: a transaction still open is not yet there to read (read_committed).
            lag: Math.max(0, status.lastStableOffset - from),
          };
        }),
      );
      partitions.push(...rows);
    }
    return c.json({
      group,
      state: d.state,
      generation: d.generation,
      assignor: d.assignor,
      members: d.members.map(({ memberId, instanceId, topics, sessionTimeoutMs, assignment }) => ({
        memberId,
        instanceId,
        topics: topics.filter((t) => describable.has(t)),
        sessionTimeoutMs,
        assignment: assignment.filter((tp) => describable.has(tp.topic)),
      })),
      partitions,
    });
  });

  serve(app, api.listGroups, { needs: () => [] }, async (c) => {
    const names = await controller(c.env).listGroups();
    // As Kafka's ListGroups: every group with Describe on the cluster, else those the principal may Describe.
    const all = await may(c, cluster("Describe"));
    const visible = [];
    for (const name of names) if (all || (await may(c, onGroup(name, "Describe")))) visible.push(name);
    return c.json({ groups: visible.map((group) => ({ group })) });
  });

  serve(
    app,
    api.deleteGroup,
    { needs: ({ params }) => [onGroup(params.group, "Delete")], audit: true },
    async (c, { params: { group } }) => {
      unwrap(await groupStub(c.env, group).deleteGroup(group));
      return c.json({ group, deleted: true as const });
    },
  );
}

/** The committed offsets the principal may see (those of topics it may Describe). */
async function visibleTo<T extends { topic: string }>(c: Ctx, offsets: readonly T[]): Promise<T[]> {
  const out: T[] = [];
  for (const o of offsets) if (await may(c, onTopic(o.topic, "Describe"))) out.push(o);
  return out;
}

type CommitEntry = z.output<(typeof api.commitOffsets.request.body.content)["application/json"]["schema"]>["offsets"][number];

/** Checks what the schema cannot: known topics and partitions, and no partition twice. */
async function checkCommits(env: Env, entries: readonly CommitEntry[]): Promise<OffsetCommit[]> {
  const seen = new Set<string>();
  const commits: OffsetCommit[] = [];
  for (const [i, o] of entries.entries()) {
    const topic = await topicMetadata(env, o.topic);
    if (o.partition >= topic.partitions.length)
      throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${o.topic}" has no partition ${o.partition}`);
    const key = tpKey(o.topic, o.partition);
    if (seen.has(key)) throw new EdgelogError("INVALID_REQUEST", `offsets[${i}] repeats ${o.topic}/${o.partition}`);
    seen.add(key);
    commits.push({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata ?? null });
  }
  return commits;
}

/** The offset a reset moves a partition to. */
async function resolvePosition(env: Env, topic: TopicMetadata, partition: number, to: z.output<typeof ResetTarget>): Promise<number> {
  const status = await statusOf(env, topic, partition);
  if (to === "earliest") return status.logStartOffset;
  if (to === "latest") return status.highWatermark;
  if ("offset" in to) {
    if (to.offset < status.logStartOffset || to.offset > status.highWatermark) {
      throw new EdgelogError(
        "OFFSET_OUT_OF_RANGE",
        `offset ${to.offset} is outside [${status.logStartOffset}, ${status.highWatermark}] for ${topic.name}/${partition}`,
      );
    }
    return to.offset;
  }
  const found = await offsetForTimestamp(env, topic, partition, to.timestamp);
  return found ? found.offset : status.highWatermark;
}
