/**
 * Consumer groups (one Durable Object per group):
 *
 *   POST   /v1/groups/{group}/members                    {"topics", "instanceId"?, "sessionTimeoutMs"?, "assignor"?} -> join
 *   POST   /v1/groups/{group}/members/{memberId}/heartbeat   (empty body)  -> generation, assignment
 *   DELETE /v1/groups/{group}/members/{memberId}         leave
 *   GET    /v1/groups/{group}/members/{memberId}/subscribe?autoOffsetReset=earliest|latest
 *          (Upgrade: websocket) one socket for every assigned partition, served by the member's
 *          GroupSession object (frames, close codes and the handover: worker/session/frames.ts)
 *   POST   /v1/groups/{group}/offsets                    {"memberId", "generation", "offsets": [{topic, partition, offset, metadata?}]}
 *   GET    /v1/groups/{group}/offsets                    -> {"offsets": [{topic, partition, offset, metadata, resetId}]}
 *   POST   /v1/groups/{group}/offsets/reset              {"topics"?, "to": "earliest"|"latest"|{"timestamp"}|{"offset"}} (empty group only)
 *   GET    /v1/groups/{group}                            -> members, assignment, per-partition committed/highWatermark/lag
 *   GET    /v1/groups                                    -> {"groups": [{"group"}]}
 *   DELETE /v1/groups/{group}                            (empty group only)
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { controller, topicMetadata } from "../../cluster/metadata";
import { checkTopicName } from "../../controller/topic-name";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import { isAssignorName } from "../../group/assignors";
import { DEFAULT_SESSION_TIMEOUT_MS, MAX_SESSION_TIMEOUT_MS, MIN_SESSION_TIMEOUT_MS, type OffsetCommit } from "../../group/coordinator";
import { LIMITS } from "../../../protocol/limits";
import { onlyFields, readJsonObject } from "../http/params";
import { unwrap } from "../../outcome";
import { offsetForTimestamp, statusOf } from "../../cluster/partition-client";

export const groups = new Hono<{ Bindings: Env }>();

const GROUP_ID = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_TOPICS_PER_MEMBER = 100;
const MAX_OFFSETS_PER_COMMIT = 10_000;
const MAX_METADATA_CHARS = 4_096;
const MAX_MEMBER_ID_CHARS = 255;

function checkGroupId(group: string): void {
  if (!GROUP_ID.test(group)) throw new EdgelogError("INVALID_GROUP_ID", `invalid group id ${JSON.stringify(group)}: use 1 to 249 characters of [a-zA-Z0-9._-]`);
}

function groupStub(env: Env, group: string) {
  checkGroupId(group);
  return env.GROUP.get(env.GROUP.idFromName(group));
}

/** The topics' metadata, refusing unknown topics (404) and bad names (400). */
async function knownTopics(env: Env, names: unknown[]): Promise<Map<string, TopicMetadata>> {
  const topics = new Map<string, TopicMetadata>();
  for (const name of names) {
    checkTopicName(name);
    if (!topics.has(name)) topics.set(name, await topicMetadata(env, name));
  }
  return topics;
}

groups.post("/v1/groups/:group/members", async (c) => {
  const group = c.req.param("group");
  const stub = groupStub(c.env, group);
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["topics", "instanceId", "sessionTimeoutMs", "assignor"]);
  const { topics, instanceId, sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS, assignor = null } = body;
  if (!Array.isArray(topics) || topics.length === 0 || topics.length > MAX_TOPICS_PER_MEMBER) {
    throw new EdgelogError("INVALID_REQUEST", `"topics" must be a non-empty array of at most ${MAX_TOPICS_PER_MEMBER} topic names`);
  }
  if (instanceId !== undefined && instanceId !== null && (typeof instanceId !== "string" || instanceId.length === 0 || instanceId.length > 249)) {
    throw new EdgelogError("INVALID_REQUEST", `"instanceId" must be a string of 1 to 249 characters`);
  }
  if (!Number.isSafeInteger(sessionTimeoutMs) || (sessionTimeoutMs as number) < MIN_SESSION_TIMEOUT_MS || (sessionTimeoutMs as number) > MAX_SESSION_TIMEOUT_MS) {
    throw new EdgelogError("INVALID_SESSION_TIMEOUT", `sessionTimeoutMs must be an integer from ${MIN_SESSION_TIMEOUT_MS} to ${MAX_SESSION_TIMEOUT_MS}`);
  }
  if (assignor !== null && !isAssignorName(assignor)) {
    throw new EdgelogError("UNSUPPORTED_ASSIGNOR", `unknown assignor ${JSON.stringify(assignor)}: use range, roundrobin or sticky`);
  }
  const metadata = await knownTopics(c.env, topics);
  const counts = Object.fromEntries([...metadata].map(([name, t]) => [name, t.partitions.length]));
  const answer = unwrap(
    await stub.join({
      group,
      topics: [...metadata.keys()],
      instanceId: (instanceId as string | undefined) ?? null,
      sessionTimeoutMs: sessionTimeoutMs as number,
      assignor,
      counts,
    }),
  );
  return c.json(answer);
});

groups.post("/v1/groups/:group/members/:memberId/heartbeat", async (c) => {
  const stub = groupStub(c.env, c.req.param("group"));
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes, { optional: true });
  onlyFields(body, []);
  return c.json(unwrap(await stub.heartbeat(c.req.param("memberId"))));
});

groups.get("/v1/groups/:group/members/:memberId/subscribe", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new EdgelogError("INVALID_REQUEST", "this route upgrades to a WebSocket: send Upgrade: websocket");
  }
  const group = c.req.param("group");
  const memberId = c.req.param("memberId");
  checkGroupId(group);
  if (memberId.length > MAX_MEMBER_ID_CHARS) throw new EdgelogError("INVALID_REQUEST", `a member id has at most ${MAX_MEMBER_ID_CHARS} characters`);
  const autoOffsetReset = c.req.query("autoOffsetReset") ?? "earliest";
  if (autoOffsetReset !== "earliest" && autoOffsetReset !== "latest") {
    throw new EdgelogError("INVALID_REQUEST", `autoOffsetReset must be earliest or latest, got ${JSON.stringify(autoOffsetReset)}`);
  }
  // The member's existence is the session's to check: an unknown member is told over the socket
  // (close code 4025), which a browser can see, where a refused upgrade is only an anonymous error.
  const url = new URL("https://session/subscribe");
  url.searchParams.set("group", group);
  url.searchParams.set("memberId", memberId);
  url.searchParams.set("autoOffsetReset", autoOffsetReset);
  const session = c.env.SESSION.get(c.env.SESSION.idFromName(`${group}/${memberId}`));
  return session.fetch(new Request(url, { headers: c.req.raw.headers }));
});

groups.delete("/v1/groups/:group/members/:memberId", async (c) => {
  const stub = groupStub(c.env, c.req.param("group"));
  unwrap(await stub.leave(c.req.param("memberId")));
  return c.json({ memberId: c.req.param("memberId"), left: true });
});

groups.post("/v1/groups/:group/offsets", async (c) => {
  const stub = groupStub(c.env, c.req.param("group"));
  const { body } = await readJsonObject(c.req.raw, LIMITS.jsonBodyBytes);
  onlyFields(body, ["memberId", "generation", "offsets"]);
  const { memberId, generation, offsets } = body;
  if (typeof memberId !== "string" || memberId.length === 0) throw new EdgelogError("INVALID_REQUEST", `"memberId" must be a string`);
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) throw new EdgelogError("INVALID_REQUEST", `"generation" must be a non-negative integer`);
  const commits = await parseCommits(c.env, offsets);
  unwrap(await stub.commit(memberId, generation as number, commits));
  return c.json({ committed: commits.length });
});

groups.get("/v1/groups/:group/offsets", async (c) => {
  const stub = groupStub(c.env, c.req.param("group"));
  return c.json({ offsets: await stub.offsets() });
});

groups.post("/v1/groups/:group/offsets/reset", async (c) => {
  const group = c.req.param("group");
  const stub = groupStub(c.env, group);
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["topics", "to"]);
  const to = parseResetTarget(body.to);
  let names = body.topics;
  if (names === undefined) {
    const described = await stub.describe();
    names = [...new Set([...Object.keys(described.partitionCounts), ...described.offsets.map((o) => o.topic)])];
  }
  if (!Array.isArray(names) || names.length > MAX_TOPICS_PER_MEMBER) {
    throw new EdgelogError("INVALID_REQUEST", `"topics" must be an array of at most ${MAX_TOPICS_PER_MEMBER} topic names`);
  }
  const topics = await knownTopics(c.env, names);
  const offsets: OffsetCommit[] = [];
  for (const topic of topics.values()) {
    await Promise.all(
      topic.partitions.map(async ({ partition }) => {
        offsets.push({ topic: topic.name, partition, offset: await resolvePosition(c.env, topic, partition, to), metadata: null });
      }),
    );
  }
  const { resetId } = unwrap(await stub.reset(group, offsets));
  offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return c.json({ resetId, offsets: offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })) });
});

groups.get("/v1/groups/:group", async (c) => {
  const group = c.req.param("group");
  const d = await groupStub(c.env, group).describe();
  const committed = new Map(d.offsets.map((o) => [`${o.topic}\u0000${o.partition}`, o.offset]));
  const names = [...new Set([...Object.keys(d.partitionCounts), ...d.offsets.map((o) => o.topic)])].sort();
  const partitions: { topic: string; partition: number; committed: number | null; highWatermark: number; lag: number }[] = [];
  for (const name of names) {
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
        const offset = committed.get(`${name}\u0000${partition}`) ?? null;
        // Without a commit a consumer starts at the log start (auto.offset.reset=earliest).
        const from = offset ?? status.logStartOffset;
        return { topic: name, partition, committed: offset, highWatermark: status.highWatermark, lag: Math.max(0, status.highWatermark - from) };
      }),
    );
    partitions.push(...rows);
  }
  return c.json({
    group,
    state: d.state,
    generation: d.generation,
    assignor: d.assignor,
    members: d.members.map(({ memberId, instanceId, topics, sessionTimeoutMs, assignment }) => ({ memberId, instanceId, topics, sessionTimeoutMs, assignment })),
    partitions,
  });
});

groups.get("/v1/groups", async (c) => {
  const names = await controller(c.env).listGroups();
  return c.json({ groups: names.map((group) => ({ group })) });
});

groups.delete("/v1/groups/:group", async (c) => {
  const group = c.req.param("group");
  unwrap(await groupStub(c.env, group).deleteGroup(group));
  return c.json({ group, deleted: true });
});

/** Validates a commit's offsets: known topics and partitions, non-negative offsets, bounded metadata. */
async function parseCommits(env: Env, raw: unknown): Promise<OffsetCommit[]> {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_OFFSETS_PER_COMMIT) {
    throw new EdgelogError("INVALID_REQUEST", `"offsets" must be a non-empty array of at most ${MAX_OFFSETS_PER_COMMIT} entries`);
  }
  const commits: OffsetCommit[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of raw.entries()) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new EdgelogError("INVALID_REQUEST", `offsets[${i}] must be an object`);
    const o = entry as Record<string, unknown>;
    onlyFields(o, ["topic", "partition", "offset", "metadata"], `offsets[${i}]`);
    checkTopicName(o.topic);
    const topic = await topicMetadata(env, o.topic);
    if (!Number.isSafeInteger(o.partition) || (o.partition as number) < 0) throw new EdgelogError("INVALID_REQUEST", `offsets[${i}].partition must be a non-negative integer`);
    if ((o.partition as number) >= topic.partitions.length) {
      throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${o.topic}" has no partition ${o.partition}`);
    }
    if (!Number.isSafeInteger(o.offset) || (o.offset as number) < 0) throw new EdgelogError("INVALID_REQUEST", `offsets[${i}].offset must be a non-negative integer`);
    if (o.metadata !== undefined && o.metadata !== null && typeof o.metadata !== "string") throw new EdgelogError("INVALID_REQUEST", `offsets[${i}].metadata must be a string`);
    if (typeof o.metadata === "string" && o.metadata.length > MAX_METADATA_CHARS) {
      throw new EdgelogError("OFFSET_METADATA_TOO_LARGE", `offsets[${i}].metadata is longer than ${MAX_METADATA_CHARS} characters`);
    }
    const key = `${o.topic}\u0000${o.partition}`;
    if (seen.has(key)) throw new EdgelogError("INVALID_REQUEST", `offsets[${i}] repeats ${o.topic}/${o.partition}`);
    seen.add(key);
    commits.push({ topic: o.topic, partition: o.partition as number, offset: o.offset as number, metadata: (o.metadata as string | undefined) ?? null });
  }
  return commits;
}

type ResetTarget = "earliest" | "latest" | { timestamp: number } | { offset: number };

function parseResetTarget(to: unknown): ResetTarget {
  if (to === "earliest" || to === "latest") return to;
  if (typeof to === "object" && to !== null && !Array.isArray(to)) {
    const entries = Object.entries(to);
    if (entries.length === 1) {
      const [name, value] = entries[0];
      if ((name === "timestamp" || name === "offset") && Number.isSafeInteger(value) && (value as number) >= 0) {
        return name === "timestamp" ? { timestamp: value as number } : { offset: value as number };
      }
    }
  }
  throw new EdgelogError("INVALID_REQUEST", `"to" must be "earliest", "latest", {"timestamp": ms} or {"offset": n}`);
}

/** The offset a reset moves a partition to. */
async function resolvePosition(env: Env, topic: TopicMetadata, partition: number, to: ResetTarget): Promise<number> {
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
