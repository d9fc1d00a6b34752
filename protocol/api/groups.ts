/**
 * Consumer groups (one Durable Object per group; server-side assignment as in KIP-848):
 *
 *   POST   /v1/groups/{group}/members                      {"topics", "instanceId"?, "sessionTimeoutMs"?, "assignor"?} -> join
 *   POST   /v1/groups/{group}/members/{memberId}/heartbeat (empty body) -> generation, assignment
 *   DELETE /v1/groups/{group}/members/{memberId}           leave
 *   GET    /v1/groups/{group}/members/{memberId}/subscribe (Upgrade: websocket) one socket for every assigned partition
 *   POST   /v1/groups/{group}/offsets                      {"memberId", "generation", "offsets": [...]} commit
 *   GET    /v1/groups/{group}/offsets                      -> committed offsets
 *   POST   /v1/groups/{group}/offsets/reset                {"topics"?, "to"} (empty group only)
 *   GET    /v1/groups/{group}                              -> members, assignment, lag per partition
 *   GET    /v1/groups                                      -> {"groups": [{"group"}]}
 *   DELETE /v1/groups/{group}                              (empty group only)
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { GroupParams, MemberParams, Offset, TopicName, TopicPartition } from "./names";
import { Isolation, UpgradeHeaders } from "./records";
import { answer, coded, errors, json, route } from "./schema";

const tags = ["groups"];

/** Session timeouts: Kafka's default, and the range a member may ask for. */
export const SESSION_TIMEOUT_MS = { default: 45_000, min: 1_000, max: 1_800_000 } as const;
/** The assignors a group may use. */
export const ASSIGNORS = ["range", "roundrobin", "sticky"] as const;
/** Bounds of group requests. */
export const GROUP_LIMITS = {
  topicsPerMember: 100,
  offsetsPerCommit: 10_000,
  metadataChars: 4_096,
  memberIdChars: 255,
  instanceIdChars: 249,
} as const;

/** What a member is told on join and heartbeat. */
export const MemberAnswer = z
  .strictObject({
    memberId: z.string(),
    generation: z.int(),
    assignment: z
      .array(TopicPartition)
      .meta({ description: "The partitions to read now (never one another member may read in this generation)" }),
    pending: z.array(TopicPartition).meta({ description: "Partitions coming once their previous owner released them" }),
    heartbeatIntervalMs: z.int().meta({ description: "When to heartbeat next (short while partitions move)" }),
    sessionTimeoutMs: z.int(),
  })
  .meta({ id: "MemberAnswer" });

/** A committed offset (the next offset to read, as in Kafka). */
export const CommittedOffset = z
  .strictObject({
    topic: z.string(),
    partition: z.int(),
    offset: z.int(),
    metadata: z.string().nullable(),
    resetId: z
      .int()
      .meta({ description: "Which administrative reset this offset belongs to (0: never reset); clients caching offsets compare it" }),
  })
  .meta({ id: "CommittedOffset" });

const TopicList = (min: number) =>
  z
    .array(TopicName)
    .min(min)
    .max(GROUP_LIMITS.topicsPerMember)
    .meta({ description: `At most ${GROUP_LIMITS.topicsPerMember} topic names` });

export const joinGroup = route({
  method: "post",
  path: "/v1/groups/{group}/members",
  summary: "Join: the answer has memberId, generation and the member's assignment",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    params: GroupParams,
    body: {
      required: true,
      content: json(
        z.strictObject({
          topics: TopicList(1),
          instanceId: z.string().min(1).max(GROUP_LIMITS.instanceIdChars).nullable().optional().meta({
            description: "Static membership: a member returning with the same id within its session timeout keeps its partitions",
          }),
          sessionTimeoutMs: coded(z.int().min(SESSION_TIMEOUT_MS.min).max(SESSION_TIMEOUT_MS.max), "INVALID_SESSION_TIMEOUT").default(
            SESSION_TIMEOUT_MS.default,
          ),
          assignor: coded(z.enum(ASSIGNORS), "UNSUPPORTED_ASSIGNOR")
            .nullable()
            .default(null)
            .meta({ description: "The group's assignor (default: the group's, sticky for a new group)" }),
        }),
      ),
    },
  },
  responses: { 200: answer("Membership", MemberAnswer), ...errors({ 409: "INCONSISTENT_GROUP_PROTOCOL or FENCED_INSTANCE_ID" }) },
});

export const heartbeat = route({
  method: "post",
  path: "/v1/groups/{group}/members/{memberId}/heartbeat",
  summary: "Stay alive; answers the current generation and assignment (an empty body is enough)",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: { params: MemberParams, body: { required: false, content: json(z.strictObject({})) } },
  responses: { 200: answer("Membership", MemberAnswer), ...errors({ 409: "FENCED_INSTANCE_ID" }) },
});

export const leaveGroup = route({
  method: "delete",
  path: "/v1/groups/{group}/members/{memberId}",
  summary: "Leave the group; its partitions go to the others at once",
  tags,
  request: { params: MemberParams },
  responses: { 200: answer("Left", z.strictObject({ memberId: z.string(), left: z.literal(true) })), ...errors() },
});

export const subscribeGroup = route({
  method: "get",
  path: "/v1/groups/{group}/members/{memberId}/subscribe",
  summary: "Group subscription: one WebSocket for every partition the member is assigned, following reassignment",
  description:
    "Send Upgrade: websocket (browsers may pass the token as ?access_token=). The member's session object heartbeats the group for it while the socket is open; once it closes the member expires by its session timeout. Frames and close codes: the README and protocol/wire.ts.",
  tags,
  request: {
    params: z.object({ group: GroupParams.shape.group, memberId: z.string().max(GROUP_LIMITS.memberIdChars) }),
    headers: UpgradeHeaders,
    query: z.object({
      autoOffsetReset: z
        .enum(["earliest", "latest"])
        .default("earliest")
        .meta({ description: "Where a partition without a committed offset, or whose position is out of range, starts" }),
      isolation: Isolation,
      access_token: z.string().optional().meta({ description: "The bearer token, for browsers" }),
    }),
  },
  responses: { 101: { description: "Switching protocols: the subscription" }, ...errors() },
});

const CommitEntry = z.strictObject({
  topic: TopicName,
  partition: z.int().min(0),
  offset: Offset,
  metadata: coded(z.string().max(GROUP_LIMITS.metadataChars), (issue) =>
    issue.code === "too_big" ? "OFFSET_METADATA_TOO_LARGE" : "INVALID_REQUEST",
  )
    .nullable()
    .optional(),
});

export const commitOffsets = route({
  method: "post",
  path: "/v1/groups/{group}/offsets",
  summary: "Commit offsets from a member of the current generation, for partitions it owns",
  tags,
  bodyLimit: LIMITS.jsonBodyBytes,
  request: {
    params: GroupParams,
    body: {
      required: true,
      content: json(
        z.strictObject({
          memberId: z.string().min(1),
          generation: z.int().min(0),
          offsets: z.array(CommitEntry).min(1).max(GROUP_LIMITS.offsetsPerCommit),
        }),
      ),
    },
  },
  responses: {
    200: answer("Committed", z.strictObject({ committed: z.int().meta({ description: "How many offsets were committed" }) })),
    ...errors({
      409: "ILLEGAL_GENERATION (stale generation), REBALANCE_IN_PROGRESS (a partition the member does not own), FENCED_INSTANCE_ID",
    }),
  },
});

export const committedOffsets = route({
  method: "get",
  path: "/v1/groups/{group}/offsets",
  summary: "Committed offsets (the next offset to read), empty for a new group",
  tags,
  request: { params: GroupParams },
  responses: { 200: answer("Offsets", z.strictObject({ offsets: z.array(CommittedOffset) })), ...errors() },
});

/** Where a reset moves a group's partitions. */
export const ResetTarget = z
  .union([z.enum(["earliest", "latest"]), z.strictObject({ timestamp: z.int().min(0) }), z.strictObject({ offset: Offset })])
  .meta({ description: '"earliest", "latest", {"timestamp": ms} or {"offset": n}' });

export const resetOffsets = route({
  method: "post",
  path: "/v1/groups/{group}/offsets/reset",
  summary: "Reset an empty group's offsets to earliest, latest, a timestamp or an offset",
  tags,
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    params: GroupParams,
    body: {
      required: true,
      content: json(
        z.strictObject({
          topics: TopicList(0).optional().meta({ description: "Default: the topics the group has offsets or subscriptions for" }),
          to: ResetTarget,
        }),
      ),
    },
  },
  responses: {
    200: answer(
      "The new offsets and the reset id",
      z.strictObject({ resetId: z.int(), offsets: z.array(z.strictObject({ topic: z.string(), partition: z.int(), offset: z.int() })) }),
    ),
    ...errors({ 409: "NON_EMPTY_GROUP" }),
  },
});

export const GroupDescription = z
  .strictObject({
    group: z.string(),
    state: z.enum(["Empty", "Reconciling", "Stable"]),
    generation: z.int(),
    assignor: z.enum(ASSIGNORS).nullable(),
    members: z.array(
      z.strictObject({
        memberId: z.string(),
        instanceId: z.string().nullable(),
        topics: z.array(z.string()),
        sessionTimeoutMs: z.int(),
        assignment: z.array(TopicPartition),
      }),
    ),
    partitions: z.array(
      z.strictObject({
        topic: z.string(),
        partition: z.int(),
        committed: z.int().nullable(),
        highWatermark: z.int(),
        lag: z.int().meta({ description: "highWatermark - committed (or - logStartOffset without a commit)" }),
      }),
    ),
  })
  .meta({ id: "GroupDescription" });

export const describeGroup = route({
  method: "get",
  path: "/v1/groups/{group}",
  summary: "Describe a group: members with their assignment, and per partition the committed offset, high watermark and lag",
  tags,
  request: { params: GroupParams },
  responses: { 200: answer("Description", GroupDescription), ...errors() },
});

export const listGroups = route({
  method: "get",
  path: "/v1/groups",
  summary: "List consumer groups",
  tags,
  responses: { 200: answer("Groups", z.strictObject({ groups: z.array(z.strictObject({ group: z.string() })) })), ...errors() },
});

export const deleteGroup = route({
  method: "delete",
  path: "/v1/groups/{group}",
  summary: "Delete an empty group and its offsets",
  tags,
  request: { params: GroupParams },
  responses: {
    200: answer("Deleted", z.strictObject({ group: z.string(), deleted: z.literal(true) })),
    ...errors({ 409: "NON_EMPTY_GROUP" }),
  },
});
