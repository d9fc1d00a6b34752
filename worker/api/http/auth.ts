/**
 * Access on every /v1 route: authentication (a middleware), then authorization of what each
 * route declares it needs (`serve` calls {@link authorize} once the request is validated, before
 * the handler runs, so a refused request changes nothing).
 *
 * Auth is on as soon as a credential is configured (worker/access/config.ts); with none it is
 * local development: every request is the superuser User:ANONYMOUS. Credentials: EDGELOG_TOKEN
 * (superuser), API keys, and short-lived JWTs (worker/access/authenticate.ts). WebSocket upgrades
 * may pass theirs as `?access_token=` (browsers cannot set headers on a WebSocket); nothing else may.
 *
 * A refusal is audited (worker/access/audit.ts) and answers 401 SASL_AUTHENTICATION_FAILED or 403
 * with Kafka's code for the resource. A need on a topic is checked before the topic is looked
 * up, so a topic the principal may not Describe answers the same whether it exists or not.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Operation, Quotas } from "../../../protocol/api/access";
import { CLUSTER_RESOURCE } from "../../../protocol/api/access";
import { EdgelogError } from "../../../protocol/errors";
import { type AuditRecord, whereFrom, writeAudit } from "../../access/audit";
import { authenticate, credentialOf } from "../../access/authenticate";
import { type Grant, type Need, refusalFor } from "../../access/authorizer";
import { accessConfig } from "../../access/config";
import { accessView } from "../../access/snapshot";
import type { Env } from "../../env";

/** `grant`: who is asking (auth); `quotas`: the principal's quotas, once admitted (quota.ts). */
export type AppEnv = { Bindings: Env; Variables: { grant: Grant; quotas?: Quotas } };

/** One need, by resource: `topic("sensors", "Write")`. */
export const topic = (name: string, operation: Operation): Need => ({ resourceType: "topic", name, operation });
export const group = (name: string, operation: Operation): Need => ({ resourceType: "group", name, operation });
export const cluster = (operation: Operation): Need => ({ resourceType: "cluster", name: CLUSTER_RESOURCE, operation });
export const transactionalId = (name: string, operation: Operation): Need => ({ resourceType: "transactionalId", name, operation });

/** Records a refused or a changing request in __audit (auth on only), after the answer. */
export function audit(
  c: Context<AppEnv>,
  action: string,
  outcome: AuditRecord["outcome"],
  error?: EdgelogError,
  request?: unknown,
  status = 200,
): void {
  if (!accessConfig(c.env).on) return;
  const grant = c.get("grant") as Grant | undefined;
  const record: AuditRecord = {
    time: new Date().toISOString(),
    principal: grant?.principal ?? null,
    via: grant?.via ?? null,
    action,
    path: new URL(c.req.url).pathname,
    outcome,
    status: error ? error.status : status,
    code: error ? error.code : null,
    request: request ?? null,
    ...whereFrom(c.req.raw),
  };
  c.executionCtx.waitUntil(writeAudit(c.env, record).catch((err) => console.error("edgelog: audit write failed", String(err))));
}

/** Authenticates every /v1 request; the grant is `c.get("grant")`. */
export const auth: MiddlewareHandler<AppEnv> = async (c, next) => {
  try {
    c.set("grant", await authenticate(c.env, credentialOf(c.req.raw), () => accessView(c.env)));
  } catch (err) {
    if (err instanceof EdgelogError && err.code === "SASL_AUTHENTICATION_FAILED") {
      audit(c, `${c.req.method} ${new URL(c.req.url).pathname}`, "unauthenticated", err);
    }
    throw err;
  }
  await next();
};

/** Refuses the request (403) unless every need is allowed (a list: one of its needs). */
export async function authorize(c: Context<AppEnv>, action: string, needs: readonly (Need | readonly Need[])[]): Promise<void> {
  const grant = c.get("grant");
  if (grant.via === "open" || needs.length === 0) return;
  const { authorizer } = await accessView(c.env);
  for (const entry of needs) {
    const options: readonly Need[] = Array.isArray(entry) ? entry : [entry as Need];
    if (!options.some((need) => authorizer.allowed(grant, need))) deny(c, action, options[options.length - 1]);
  }
}

/** Refuses (403) for a need that is not allowed, and audits the refusal. */
export function deny(c: Context<AppEnv>, action: string, need: Need): never {
  refuse(c, action, refusalFor(need));
}

/** Throws a refusal (403) after recording it in __audit, as every refusal is. */
export function refuse(c: Context<AppEnv>, action: string, err: EdgelogError): never {
  audit(c, action, "denied", err);
  throw err;
}

/** Whether the request's principal may (for filtering lists: topics, groups, offsets). */
export async function may(c: Context<AppEnv>, need: Need): Promise<boolean> {
  const grant = c.get("grant");
  if (grant.via === "open") return true;
  return (await accessView(c.env)).authorizer.allowed(grant, need);
}
