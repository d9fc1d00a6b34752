/**
 * Fault injection, for tests only (see worker/partition/faults.ts):
 *
 *   POST /v1/admin/faults   {"topic", "partition", "replica", "fault": "unreachable" | "slow" |
 *                            "crash-mid-append" | "none", "delayMs"?}   -> {"topic", "partition", "replica", "fault"}
 *
 * The route exists only when EDGELOG_FAULT_INJECTION is "on" (the test configuration); otherwise
 * it answers exactly as an unknown route does (404 UNSUPPORTED_VERSION), and the partition
 * object refuses the call as well. Like every /v1 route it needs the token when auth is on.
 */
import { Hono } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import { topicMetadata } from "../../cluster/metadata";
import { replicaStub } from "../../controller/placement";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { onlyFields, readJsonObject } from "../http/params";
import { unwrap } from "../../outcome";
import { faultInjectionEnabled, parseFault } from "../../partition/faults";

export const faults = new Hono<{ Bindings: Env }>();

faults.post("/v1/admin/faults", async (c) => {
  if (!faultInjectionEnabled(c.env)) {
    throw new EdgelogError("UNSUPPORTED_VERSION", `no route for POST /v1/admin/faults; see /v1/openapi.json`);
  }
  const { body } = await readJsonObject(c.req.raw, LIMITS.adminBodyBytes);
  onlyFields(body, ["topic", "partition", "replica", "fault", "delayMs"]);
  if (typeof body.topic !== "string") throw new EdgelogError("INVALID_REQUEST", `"topic" must be a topic name`);
  const fault = parseFault(body.fault, body.delayMs);
  const topic = await topicMetadata(c.env, body.topic, true);
  const p = topic.partitions[body.partition as number];
  if (!Number.isSafeInteger(body.partition) || !p) {
    throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic.name}" has no partition ${JSON.stringify(body.partition)}`);
  }
  if (!p.replicas.includes(body.replica as number)) {
    throw new EdgelogError("INVALID_REQUEST", `"replica" must be one of partition ${p.partition}'s replicas ${JSON.stringify(p.replicas)}, got ${JSON.stringify(body.replica)}`);
  }
  const answer = unwrap(await replicaStub(c.env, topic.topicId, p.partition, body.replica as number).injectFault(fault));
  return c.json({ topic: topic.name, partition: p.partition, replica: body.replica, fault: answer.fault });
});
