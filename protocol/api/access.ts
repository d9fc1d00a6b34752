/**
 * Access control, as Kafka has it: principals with API keys, ACL bindings and client quotas.
 *
 *   POST   /v1/admin/keys               {"principal", "description"?} -> 201 {"keyId", "principal", "secret", ...}
 *   GET    /v1/admin/keys               the keys, without secrets
 *   DELETE /v1/admin/keys/{keyId}       revokes a key
 *   POST   /v1/admin/acls               one ACL binding (kafka-acls --add)
 *   GET    /v1/admin/acls               bindings matching ?principal=&resourceType=&resourceName=&patternType=
 *   DELETE /v1/admin/acls               a filter body; answers the bindings removed (kafka-acls --remove)
 *   PUT    /v1/admin/quotas/{entity}    a principal's (or "default") quotas (kafka-configs --alter --entity-type users)
 *   GET    /v1/admin/quotas             every entity's quotas
 *   DELETE /v1/admin/quotas/{entity}    removes an entity's quotas
 */
import { z } from "zod";
import { LIMITS } from "../limits";
import { answer, coded, errors, json, route } from "./schema";

/** A principal: "User:<name>" (no spaces or commas). In an ACL, "User:*" means every principal. */
export const PRINCIPAL_PATTERN = /^User:[\x21-\x2b\x2d-\x7e]{1,256}$/;
export const Principal = z
  .string()
  .regex(PRINCIPAL_PATTERN, 'a principal is "User:<name>": 1 to 256 printable characters, no spaces or commas')
  .meta({ example: "User:device-17" });

export const RESOURCE_TYPES = ["topic", "group", "cluster", "transactionalId"] as const;
export const PATTERN_TYPES = ["literal", "prefixed"] as const;
export const OPERATIONS = [
  "Read",
  "Write",
  "Create",
  "Delete",
  "Alter",
  "Describe",
  "DescribeConfigs",
  "AlterConfigs",
  "IdempotentWrite",
  "All",
] as const;
export const PERMISSIONS = ["allow", "deny"] as const;
/** The one cluster resource's name, as in Kafka. */
export const CLUSTER_RESOURCE = "kafka-cluster";

export const ResourceType = z.enum(RESOURCE_TYPES);
export const PatternType = z.enum(PATTERN_TYPES);
export const Operation = z.enum(OPERATIONS);
export const Permission = z.enum(PERMISSIONS);
export type ResourceType = z.output<typeof ResourceType>;
export type PatternType = z.output<typeof PatternType>;
export type Operation = z.output<typeof Operation>;
export type Permission = z.output<typeof Permission>;

/** A resource name: a literal name ("*" = every resource of the type) or a prefix. */
const ResourceName = z.string().min(1).max(256).meta({ example: "sensors" });

/** One ACL binding: principal, resource pattern, operation, permission. */
export const AclBinding = z
  .strictObject({
    principal: Principal.or(z.literal("User:*")),
    resourceType: ResourceType,
    resourceName: ResourceName,
    patternType: PatternType.default("literal"),
    operation: Operation,
    permission: Permission.default("allow"),
  })
  .refine((b) => b.resourceType !== "cluster" || b.resourceName === CLUSTER_RESOURCE, {
    message: `a cluster ACL names the resource "${CLUSTER_RESOURCE}"`,
    path: ["resourceName"],
  })
  .meta({ id: "AclBinding" });
export type AclBinding = z.output<typeof AclBinding>;

/** An ACL filter: every field that is given must match (kafka-acls --list / --remove). */
export const AclFilter = z
  .strictObject({
    principal: z.string().optional(),
    resourceType: ResourceType.optional(),
    resourceName: z.string().optional(),
    patternType: PatternType.optional(),
    operation: Operation.optional(),
    permission: Permission.optional(),
  })
  .meta({ id: "AclFilter" });
export type AclFilter = z.output<typeof AclFilter>;

/** What a token may be narrowed to (the optional `acl` claim): resources and the operations on them. */
export const TokenScope = z.array(
  z.strictObject({
    resourceType: ResourceType,
    resourceName: ResourceName,
    patternType: PatternType.default("literal"),
    operations: z.array(Operation).min(1),
  }),
);
export type TokenScope = z.output<typeof TokenScope>;

const KeyInfo = z
  .strictObject({
    keyId: z.string(),
    principal: z.string(),
    description: z.string().nullable(),
    createdAt: z.int().meta({ description: "Epoch milliseconds" }),
  })
  .meta({ id: "ApiKey" });

export const createKey = route({
  method: "post",
  path: "/v1/admin/keys",
  summary: "Create an API key for a principal (the secret is shown once)",
  description:
    "The secret is stored only as a SHA-256 hash. Send it as Authorization: Bearer <secret>. Needs Alter on the cluster; a key for a superuser principal only a superuser may create.",
  tags: ["access"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: {
    body: {
      required: true,
      content: json(z.strictObject({ principal: Principal, description: z.string().max(256).optional() })),
    },
  },
  responses: {
    201: answer("The key, with its secret (shown only now)", z.strictObject({ ...KeyInfo.shape, secret: z.string() })),
    ...errors(),
  },
});

export const listKeys = route({
  method: "get",
  path: "/v1/admin/keys",
  summary: "List API keys (never their secrets)",
  tags: ["access"],
  responses: { 200: answer("The keys", z.strictObject({ keys: z.array(KeyInfo) })), ...errors() },
});

export const revokeKey = route({
  method: "delete",
  path: "/v1/admin/keys/{keyId}",
  summary: "Revoke an API key",
  description: "Requests with it fail at once on this isolate and within the access staleness everywhere; its open sockets are closed.",
  tags: ["access"],
  request: { params: z.object({ keyId: z.string() }) },
  responses: {
    200: answer("Revoked", z.strictObject({ keyId: z.string(), revoked: z.literal(true) })),
    ...errors(),
  },
});

export const createAcl = route({
  method: "post",
  path: "/v1/admin/acls",
  summary: "Add one ACL binding",
  description: "Idempotent: adding a binding that exists answers it again. A deny wins over an allow. Needs Alter on the cluster.",
  tags: ["access"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: { body: { required: true, content: json(AclBinding) } },
  responses: { 201: answer("The binding", AclBinding), ...errors() },
});

export const listAcls = route({
  method: "get",
  path: "/v1/admin/acls",
  summary: "List ACL bindings matching a filter",
  tags: ["access"],
  request: { query: AclFilter.pick({ principal: true, resourceType: true, resourceName: true, patternType: true }) },
  responses: { 200: answer("The bindings", z.strictObject({ acls: z.array(AclBinding) })), ...errors() },
});

export const deleteAcls = route({
  method: "delete",
  path: "/v1/admin/acls",
  summary: "Remove the ACL bindings matching a filter",
  description: "Every field given must match; an empty filter removes every binding (as kafka-acls --remove --force).",
  tags: ["access"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: { body: { required: true, content: json(AclFilter) } },
  responses: { 200: answer("The bindings removed", z.strictObject({ deleted: z.array(AclBinding) })), ...errors() },
});

/** A byte or request rate: a positive number per second. */
const Rate = z.number().positive().max(1e12);

/** Kafka's client quota keys (per second). A missing key is unlimited, or the default entity's. */
export const Quotas = z
  .strictObject({
    producer_byte_rate: Rate.optional().meta({ description: "Bytes per second a principal may produce" }),
    consumer_byte_rate: Rate.optional().meta({ description: "Bytes per second a principal may fetch or be pushed" }),
    request_rate: Rate.optional().meta({ description: "Requests per second (every /v1 route)" }),
  })
  .meta({ id: "Quotas" });
export type Quotas = z.output<typeof Quotas>;
export const QUOTA_KEYS = ["producer_byte_rate", "consumer_byte_rate", "request_rate"] as const;

/** The entity a quota belongs to: a principal, or "default" (each principal without its own). */
export const QuotaEntity = coded(Principal.or(z.literal("default")), "INVALID_REQUEST");

const QuotaEntry = z.strictObject({ entity: z.string(), quotas: Quotas }).meta({ id: "QuotaEntry" });

export const setQuotas = route({
  method: "put",
  path: "/v1/admin/quotas/{entity}",
  summary: "Set a principal's quotas (or the default entity's)",
  description:
    "Replaces the entity's quotas: a key left out is unset. A principal's own key wins over the default's, key by key. Needs AlterConfigs on the cluster.",
  tags: ["access"],
  bodyLimit: LIMITS.adminBodyBytes,
  request: { params: z.object({ entity: QuotaEntity }), body: { required: true, content: json(Quotas) } },
  responses: { 200: answer("The entity's quotas", QuotaEntry), ...errors() },
});

export const listQuotas = route({
  method: "get",
  path: "/v1/admin/quotas",
  summary: "List every entity's quotas",
  tags: ["access"],
  responses: { 200: answer("The quotas", z.strictObject({ quotas: z.array(QuotaEntry) })), ...errors() },
});

export const deleteQuotas = route({
  method: "delete",
  path: "/v1/admin/quotas/{entity}",
  summary: "Remove an entity's quotas",
  tags: ["access"],
  request: { params: z.object({ entity: QuotaEntity }) },
  responses: { 200: answer("Removed", z.strictObject({ entity: z.string(), deleted: z.literal(true) })), ...errors() },
});
