/**
 * The OpenAPI 3.1 document of the HTTP API, served at GET /v1/openapi.json.
 * A test checks that every route the app serves is described here and the other way round,
 * and the error codes come straight from the one error table.
 */
import { Hono } from "hono";
import { ERROR_CODES } from "../../../protocol/errors";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";

const json = (schema: object) => ({ "application/json": { schema } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponses = {
  "400": { description: "Malformed or invalid input; nothing was applied", content: json(ref("Error")) },
  "401": { description: "Missing or wrong bearer token (when auth is configured)", content: json(ref("Error")) },
  "404": { description: "Unknown topic or partition", content: json(ref("Error")) },
  "5XX": { description: "Outcome unknown (retriable) or server error", content: json(ref("Error")) },
};
const topicParam = { name: "topic", in: "path", required: true, schema: { type: "string", pattern: "^[a-zA-Z0-9._-]{1,249}$" } };
const groupParam = { name: "group", in: "path", required: true, schema: { type: "string", pattern: "^[a-zA-Z0-9._-]{1,249}$" } };
const memberParam = { name: "memberId", in: "path", required: true, schema: { type: "string" } };
const topicPartition = { type: "object", properties: { topic: { type: "string" }, partition: { type: "integer" } } };
const partitionParam = { name: "partition", in: "path", required: true, schema: { type: "integer", minimum: 0 } };
const acksParam = {
  name: "acks",
  in: "query",
  schema: { enum: ["0", "1", "all"], default: "all" },
  description: "0: answer before the append (202, no offsets); 1: once the leader stored it; all: once every in-sync replica has it",
};
const fetchParams = [
  { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 }, description: "First offset to read" },
  { name: "maxRecords", in: "query", schema: { type: "integer", minimum: 1, maximum: LIMITS.maxRecords, default: LIMITS.defaultMaxRecords } },
  { name: "maxBytes", in: "query", schema: { type: "integer", minimum: 1, maximum: LIMITS.maxBytes, default: LIMITS.defaultMaxBytes }, description: "The first batch is returned whole even when larger" },
  { name: "maxWaitMs", in: "query", schema: { type: "integer", minimum: 0, maximum: LIMITS.maxWaitMs, default: 0 }, description: "Long-poll: wait up to this long for data" },
  { name: "minBytes", in: "query", schema: { type: "integer", minimum: 0, default: 1 }, description: "Long-poll: wait until this many bytes are available" },
];
const partitionDescription = {
  type: "object",
  properties: {
    partition: { type: "integer" },
    leader: { type: "integer", description: "Replica id of the leader" },
    replicas: { type: "array", items: { type: "integer" } },
    isr: { type: "array", items: { type: "integer" } },
    leaderEpoch: { type: "integer" },
    logStartOffset: { type: "integer" },
    highWatermark: { type: "integer" },
    sizeBytes: { type: "integer" },
    regions: { type: "array", items: { type: "string" }, description: "Region (locationHint) of each replica, in the order of replicas" },
  },
};

export const openapiDocument = {
  openapi: "3.1.0",
  info: {
    title: "edgelog",
    version: "0.1.0",
    description: "A Kafka-style streaming log on Cloudflare Workers: topics of ordered partitions, each a Durable Object.",
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "Required on every /v1 route when EDGELOG_TOKEN is set" } },
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "message", "retriable"],
            properties: {
              code: { enum: Object.keys(ERROR_CODES) },
              message: { type: "string" },
              retriable: { type: "boolean" },
            },
          },
        },
      },
      TopicConfig: {
        type: "object",
        additionalProperties: false,
        properties: {
          "retention.ms": { type: "integer", minimum: -1, default: 604800000 },
          "retention.bytes": { type: "integer", minimum: -1, default: -1 },
          "max.message.bytes": { type: "integer", minimum: 0, maximum: 2000000, default: 1048588 },
          "cleanup.policy": { const: "delete", default: "delete" },
          "min.insync.replicas": { type: "integer", minimum: 1, default: 1 },
          "replica.lag.time.max.ms": { type: "integer", minimum: 100, maximum: 3600000, default: 30000 },
          "unclean.leader.election.enable": { type: "boolean", default: false },
        },
      },
      TopicDescription: {
        type: "object",
        properties: {
          name: { type: "string" },
          topicId: { type: "string" },
          replicationFactor: { type: "integer" },
          partitions: { type: "array", items: partitionDescription },
          config: ref("TopicConfig"),
        },
      },
      RecordIn: {
        type: "object",
        additionalProperties: false,
        properties: {
          key: { type: ["string", "null"] },
          value: { description: "Any JSON value; a string is stored as its UTF-8 bytes, anything else as JSON" },
          partition: { type: "integer", minimum: 0 },
          headers: { type: "object", additionalProperties: { type: ["string", "null"] } },
          timestamp: { type: "integer", minimum: 0, description: "Milliseconds since the epoch (default: now)" },
          keyEncoding: { const: "base64" },
          valueEncoding: { const: "base64" },
        },
      },
      MemberAnswer: {
        type: "object",
        properties: {
          memberId: { type: "string" },
          generation: { type: "integer" },
          assignment: { type: "array", items: topicPartition, description: "Partitions to read now" },
          pending: { type: "array", items: topicPartition, description: "Partitions coming once their previous owner released them" },
          heartbeatIntervalMs: { type: "integer", description: "When to heartbeat next (short while partitions move)" },
          sessionTimeoutMs: { type: "integer" },
        },
      },
      CommittedOffset: {
        type: "object",
        properties: {
          topic: { type: "string" },
          partition: { type: "integer" },
          offset: { type: "integer" },
          metadata: { type: ["string", "null"] },
          resetId: { type: "integer", description: "Which administrative reset this offset belongs to (0: never reset)" },
        },
      },
      GroupDescription: {
        type: "object",
        properties: {
          group: { type: "string" },
          state: { enum: ["Empty", "Reconciling", "Stable"] },
          generation: { type: "integer" },
          assignor: { enum: ["range", "roundrobin", "sticky", null] },
          members: { type: "array", items: { type: "object", properties: { memberId: { type: "string" }, instanceId: { type: ["string", "null"] }, topics: { type: "array", items: { type: "string" } }, sessionTimeoutMs: { type: "integer" }, assignment: { type: "array", items: topicPartition } } } },
          partitions: {
            type: "array",
            items: {
              type: "object",
              properties: {
                topic: { type: "string" },
                partition: { type: "integer" },
                committed: { type: ["integer", "null"] },
                highWatermark: { type: "integer" },
                lag: { type: "integer", description: "highWatermark - committed (or - logStartOffset without a commit)" },
              },
            },
          },
        },
      },
      RecordOut: {
        type: "object",
        properties: {
          offset: { type: "integer" },
          timestamp: { type: "integer" },
          key: { type: ["string", "null"] },
          value: {},
          headers: { type: "object", additionalProperties: { type: ["string", "null"] } },
          keyEncoding: { const: "base64" },
          valueEncoding: { const: "base64" },
        },
      },
    },
  },
  security: [{ bearer: [] }, {}],
  paths: {
    "/v1/topics": {
      get: {
        summary: "List topics",
        responses: { "200": { description: "Topics", content: json({ type: "object", properties: { topics: { type: "array" } } }) }, ...errorResponses },
      },
      post: {
        summary: "Create a topic",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["name"],
            additionalProperties: false,
            properties: {
              name: { type: "string" },
              partitions: { type: "integer", minimum: 1, default: 1 },
              replicationFactor: { type: "integer", minimum: 1, default: 1 },
              config: ref("TopicConfig"),
            },
          }),
        },
        responses: { "201": { description: "Created", content: json(ref("TopicDescription")) }, "409": { description: "TOPIC_ALREADY_EXISTS", content: json(ref("Error")) }, ...errorResponses },
      },
    },
    "/v1/topics/{topic}": {
      parameters: [topicParam],
      get: { summary: "Describe a topic", responses: { "200": { description: "Description", content: json(ref("TopicDescription")) }, ...errorResponses } },
      delete: { summary: "Delete a topic and wipe its partitions' storage", responses: { "200": { description: "Deleted" }, ...errorResponses } },
    },
    "/v1/topics/{topic}/partitions": {
      parameters: [topicParam],
      post: {
        summary: "Grow the topic to `count` partitions",
        requestBody: { required: true, content: json({ type: "object", required: ["count"], additionalProperties: false, properties: { count: { type: "integer", minimum: 2, maximum: 1000 } } }) },
        responses: { "200": { description: "Description", content: json(ref("TopicDescription")) }, ...errorResponses },
      },
    },
    "/v1/topics/{topic}/config": {
      parameters: [topicParam],
      patch: {
        summary: "Change topic settings",
        requestBody: { required: true, content: json({ type: "object", required: ["config"], additionalProperties: false, properties: { config: ref("TopicConfig") } }) },
        responses: { "200": { description: "Description", content: json(ref("TopicDescription")) }, ...errorResponses },
      },
    },
    "/v1/topics/{topic}/records": {
      parameters: [topicParam],
      post: {
        summary: "Produce JSON records",
        parameters: [
          acksParam,
          { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 }, description: "A retry with the same key and body returns the first attempt's offsets and appends nothing (kept 24 h)" },
        ],
        requestBody: {
          required: true,
          content: json({ type: "object", required: ["records"], additionalProperties: false, properties: { records: { type: "array", minItems: 1, maxItems: LIMITS.jsonRecordsPerRequest, items: ref("RecordIn") } } }),
        },
        responses: {
          "200": {
            description: "Each record's partition and offset, in request order",
            content: json({ type: "object", properties: { offsets: { type: "array", items: { type: "object", properties: { partition: { type: "integer" }, offset: { type: ["integer", "null"] } } } } } }),
          },
          "202": { description: "acks=0: accepted, offsets unknown (null)" },
          "413": { description: "MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE", content: json(ref("Error")) },
          ...errorResponses,
        },
      },
    },
    "/v1/topics/{topic}/partitions/{partition}/records": {
      parameters: [topicParam, partitionParam],
      get: {
        summary: "Fetch JSON records from an offset",
        parameters: fetchParams,
        responses: {
          "200": {
            description: "Records from the offset, below the high watermark",
            content: json({
              type: "object",
              properties: {
                records: { type: "array", items: ref("RecordOut") },
                nextOffset: { type: "integer" },
                highWatermark: { type: "integer" },
                logStartOffset: { type: "integer" },
              },
            }),
          },
          ...errorResponses,
        },
      },
    },
    "/v1/topics/{topic}/partitions/{partition}/batches": {
      parameters: [topicParam, partitionParam],
      post: {
        summary: "Produce Kafka RecordBatch v2 bytes (one or more batches); idempotent with producer id/epoch/sequence",
        parameters: [acksParam],
        requestBody: { required: true, content: { "application/vnd.kafka.record-batch.v2": { schema: { type: "string", format: "binary" } } } },
        responses: {
          "200": { description: "Offsets of each batch (retries answer their original offsets with duplicate: true)" },
          "409": { description: "OUT_OF_ORDER_SEQUENCE_NUMBER or PRODUCER_FENCED", content: json(ref("Error")) },
          "413": { description: "MESSAGE_TOO_LARGE", content: json(ref("Error")) },
          ...errorResponses,
        },
      },
      get: {
        summary: "Fetch stored RecordBatch v2 bytes from an offset",
        parameters: fetchParams,
        responses: {
          "200": {
            description: "Whole batches (the first may begin before the offset); headers Edgelog-High-Watermark, Edgelog-Log-Start-Offset, Edgelog-Next-Offset",
            content: { "application/vnd.kafka.record-batch.v2": { schema: { type: "string", format: "binary" } } },
          },
          ...errorResponses,
        },
      },
    },
    "/v1/topics/{topic}/partitions/{partition}/subscribe": {
      parameters: [topicParam, partitionParam],
      get: {
        summary: "WebSocket push: stored records from the offset, then each new record as it is appended",
        description:
          "Send Upgrade: websocket (browsers may pass the token as ?access_token=). Server frames: text {records, nextOffset, highWatermark} (format=json) or binary record batches (format=binary); {type: pong}; {type: error, error}. Client frames: {type: ping}; {type: credit, records?, bytes?} (credit mode: never sent past the credit); {type: ack, offset} (push mode: resets the bound). A push-mode socket sent more than 1,000 records and 8 MiB since its last ack is closed with 4008; 4016: retention removed the offset; 4004: topic deleted; 4006: leadership moved (reconnect). Close reasons are JSON {code, resumeOffset}.",
        parameters: [
          { name: "offset", in: "query", schema: { type: "integer", minimum: 0, default: 0 } },
          { name: "format", in: "query", schema: { enum: ["json", "binary"], default: "json" } },
          { name: "mode", in: "query", schema: { enum: ["push", "credit"], default: "push" }, description: "credit: start in credit mode with no credit (nothing is sent before the first grant)" },
        ],
        responses: { "101": { description: "Switching protocols: the subscription" }, ...errorResponses },
      },
    },
    "/v1/topics/{topic}/partitions/{partition}/offsets": {
      parameters: [topicParam, partitionParam],
      get: {
        summary: "List offsets: earliest, latest, or the first at or after a timestamp",
        parameters: [{ name: "timestamp", in: "query", schema: { oneOf: [{ enum: ["earliest", "latest"] }, { type: "integer", minimum: 0 }] } }],
        responses: { "200": { description: "The offset (null when no record is that new)" }, ...errorResponses },
      },
    },
    "/v1/admin/faults": {
      post: {
        summary: "Fault injection (tests only): make a replica unreachable, slow, or crash mid-append",
        description:
          "Exists only when the worker runs with EDGELOG_FAULT_INJECTION=on (the test configuration); otherwise 404 UNSUPPORTED_VERSION, like any unknown route. Body: {topic, partition, replica, fault: unreachable | slow | crash-mid-append | none, delayMs? (slow only)}.",
        responses: { "200": { description: "The fault now in force" }, ...errorResponses },
      },
    },
    "/v1/producers": {
      post: {
        summary: "Get a producer id and epoch for idempotent produce",
        requestBody: { content: json({ type: "object", additionalProperties: false, properties: { transactionalId: { type: "string", minLength: 1, maxLength: 255, description: "Same id again bumps the epoch and fences older instances" } } }) },
        responses: { "200": { description: "Producer id and epoch", content: json({ type: "object", properties: { producerId: { type: "integer" }, producerEpoch: { type: "integer" } } }) }, ...errorResponses },
      },
    },
    "/v1/groups": {
      get: {
        summary: "List consumer groups",
        responses: { "200": { description: "Groups", content: json({ type: "object", properties: { groups: { type: "array", items: { type: "object", properties: { group: { type: "string" } } } } } }) }, ...errorResponses },
      },
    },
    "/v1/groups/{group}": {
      parameters: [groupParam],
      get: {
        summary: "Describe a group: members with their assignment, and per partition the committed offset, high watermark and lag",
        responses: { "200": { description: "Description", content: json(ref("GroupDescription")) }, ...errorResponses },
      },
      delete: { summary: "Delete an empty group and its offsets", responses: { "200": { description: "Deleted" }, "409": { description: "NON_EMPTY_GROUP", content: json(ref("Error")) }, ...errorResponses } },
    },
    "/v1/groups/{group}/members": {
      parameters: [groupParam],
      post: {
        summary: "Join: the answer has memberId, generation and the member's assignment",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["topics"],
            additionalProperties: false,
            properties: {
              topics: { type: "array", minItems: 1, maxItems: 100, items: { type: "string" } },
              instanceId: { type: "string", description: "Static membership: a member returning with the same id within its session timeout keeps its partitions" },
              sessionTimeoutMs: { type: "integer", minimum: 1000, maximum: 1800000, default: 45000 },
              assignor: { enum: ["range", "roundrobin", "sticky"], default: "sticky" },
            },
          }),
        },
        responses: { "200": { description: "Membership", content: json(ref("MemberAnswer")) }, ...errorResponses },
      },
    },
    "/v1/groups/{group}/members/{memberId}/heartbeat": {
      parameters: [groupParam, memberParam],
      post: {
        summary: "Stay alive; answers the current generation and assignment (an empty body is enough)",
        responses: { "200": { description: "Membership", content: json(ref("MemberAnswer")) }, ...errorResponses },
      },
    },
    "/v1/groups/{group}/members/{memberId}/subscribe": {
      parameters: [groupParam, memberParam],
      get: {
        summary: "Group subscription: one WebSocket for every partition the member is assigned, following reassignment",
        description:
          "Send Upgrade: websocket (browsers may pass the token as ?access_token=). The member's session object heartbeats the group for it while the socket is open (a hidden, throttled tab keeps its partitions); once it closes the member expires by its session timeout unless it reconnects. Server frames: {type: assignment, generation, assignment: [{topic, partition, committed, resetId}], revoked: [{topic, partition}]} first and on every change; {type: records, topic, partition, generation, records, nextOffset, highWatermark, bytes}; {type: reset, topic, partition, from, offset, error} (position out of range, moved by autoOffsetReset); {type: pong}; {type: error, error}. Client frames: {type: ping}; {type: credit, records?, bytes?} (nothing is sent before the first grant, never past it); {type: start, partitions: [{topic, partition, offset?}], generation?} (read from offset, default the committed one); {type: released, generation} (the revoked partitions are committed: the session heartbeats, which hands them on). Close codes: 4009 replaced by a newer connection of the member; 4025 UNKNOWN_MEMBER_ID (left or expired: join again); 4082 FENCED_INSTANCE_ID. Close reasons are JSON {code}.",
        parameters: [
          { name: "autoOffsetReset", in: "query", schema: { enum: ["earliest", "latest"], default: "earliest" }, description: "Where a partition without a committed offset, or whose position is out of range, starts" },
        ],
        responses: { "101": { description: "Switching protocols: the subscription" }, ...errorResponses },
      },
    },
    "/v1/groups/{group}/members/{memberId}": {
      parameters: [groupParam, memberParam],
      delete: { summary: "Leave the group; its partitions go to the others at once", responses: { "200": { description: "Left" }, ...errorResponses } },
    },
    "/v1/groups/{group}/offsets": {
      parameters: [groupParam],
      get: {
        summary: "Committed offsets (the next offset to read), empty for a new group",
        responses: { "200": { description: "Offsets", content: json({ type: "object", properties: { offsets: { type: "array", items: ref("CommittedOffset") } } }) }, ...errorResponses },
      },
      post: {
        summary: "Commit offsets from a member of the current generation, for partitions it owns",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["memberId", "generation", "offsets"],
            additionalProperties: false,
            properties: {
              memberId: { type: "string" },
              generation: { type: "integer", minimum: 0 },
              offsets: {
                type: "array",
                minItems: 1,
                maxItems: 10000,
                items: { type: "object", required: ["topic", "partition", "offset"], additionalProperties: false, properties: { topic: { type: "string" }, partition: { type: "integer", minimum: 0 }, offset: { type: "integer", minimum: 0 }, metadata: { type: ["string", "null"], maxLength: 4096 } } },
              },
            },
          }),
        },
        responses: {
          "200": { description: "Committed" },
          "409": { description: "ILLEGAL_GENERATION (stale generation) or REBALANCE_IN_PROGRESS (partition not owned)", content: json(ref("Error")) },
          ...errorResponses,
        },
      },
    },
    "/v1/groups/{group}/offsets/reset": {
      parameters: [groupParam],
      post: {
        summary: "Reset an empty group's offsets to earliest, latest, a timestamp or an offset",
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["to"],
            additionalProperties: false,
            properties: {
              topics: { type: "array", items: { type: "string" }, description: "Default: the topics the group has offsets or subscriptions for" },
              to: { oneOf: [{ enum: ["earliest", "latest"] }, { type: "object", properties: { timestamp: { type: "integer", minimum: 0 } } }, { type: "object", properties: { offset: { type: "integer", minimum: 0 } } }] },
            },
          }),
        },
        responses: { "200": { description: "The new offsets and the reset id" }, "409": { description: "NON_EMPTY_GROUP", content: json(ref("Error")) }, ...errorResponses },
      },
    },
    "/v1/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
  },
} as const;

export const openapi = new Hono<{ Bindings: Env }>();
openapi.get("/v1/openapi.json", (c) => c.json(openapiDocument));
