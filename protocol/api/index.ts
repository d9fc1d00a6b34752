/**
 * The HTTP contract of edgelog, declared once: every route with its request and answers.
 *
 * The worker serves these routes (validation and the OpenAPI document come from them), and the
 * client takes its request and answer types from them: `Answer<typeof joinGroup, 200>`.
 *
 *   schema.ts        coded schemas, parse(), route declarations and their inferred types
 *   names.ts         topic names, group ids, partitions, offsets
 *   topic-config.ts  the topic config table: bounds and defaults
 *   topics.ts records.ts groups.ts admin.ts access.ts transactions.ts   the routes, by family
 */
export * from "./schema";
export * from "./names";
export * from "./topic-config";
export * as topics from "./topics";
export * as records from "./records";
export * as groups from "./groups";
export * as admin from "./admin";
export * as access from "./access";
export * as transactions from "./transactions";
