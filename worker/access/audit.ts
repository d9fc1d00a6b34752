/**
 * The audit trail: every change to keys, ACLs, quotas, topics and groups, and every refused
 * request (401 and 403), as one JSON record in the internal topic __audit (keyed by principal).
 *
 * Recorded while auth is on (with it off there are no principals and nothing is refused). The
 * topic is made on first use; as an internal topic only superusers may read it (authorizer.ts),
 * and operators consume it like any topic. A record says who (principal, how authenticated),
 * what (the route, its path and the validated request, never a secret or a token), when, the
 * outcome, and from where (CF-Connecting-IP and the colo). It is written after the answer
 * (waitUntil): an audit write that fails is logged and never fails the request.
 */
import { EdgelogError } from "../../protocol/errors";
import { controller, topicMetadata } from "../cluster/metadata";
import type { Env } from "../env";
import { produceJson } from "../api/produce/json-produce";
import { parseJsonRecords } from "../api/produce/json-records";
import type { Grant } from "./authorizer";

export const AUDIT_TOPIC = "__audit";

export interface AuditRecord {
  time: string;
  principal: string | null;
  via: Grant["via"] | null;
  /** "POST /v1/admin/acls": the route's method and declared path. */
  action: string;
  path: string;
  outcome: "ok" | "unauthenticated" | "denied";
  status: number;
  code: string | null;
  /** The validated request (path parameters and body), for changes. */
  request: unknown;
  clientIp: string | null;
  colo: string | null;
}

async function auditTopic(env: Env) {
  try {
    return await topicMetadata(env, AUDIT_TOPIC);
  } catch (err) {
    if (!(err instanceof EdgelogError) || err.code !== "UNKNOWN_TOPIC_OR_PARTITION") throw err;
    // Each request asks for itself (a call in flight is never shared between requests: workerd
    // refuses I/O on behalf of another request); TOPIC_ALREADY_EXISTS, another's, is as good.
    await controller(env).createTopic({ name: AUDIT_TOPIC, partitions: 1, config: { "retention.ms": 30 * 24 * 3600_000 } });
    return topicMetadata(env, AUDIT_TOPIC, true);
  }
}

/** Appends one audit record. */
export async function writeAudit(env: Env, record: AuditRecord): Promise<void> {
  const topic = await auditTopic(env);
  await produceJson(env, topic, { inputs: parseJsonRecords([{ key: record.principal, value: record }]), acks: 1 }, Date.now());
}

/** The request facts every record carries. */
export function whereFrom(request: Request): { clientIp: string | null; colo: string | null } {
  const cf = (request as Request & { cf?: { colo?: string } }).cf;
  return { clientIp: request.headers.get("cf-connecting-ip"), colo: typeof cf?.colo === "string" ? cf.colo : null };
}
