/**
 * The benchmark's access configuration: a second server with auth on, where the scenarios run as
 * an API key's principal (not the superuser, whose requests skip the ACLs), with
 *   - ACLs: Create, Write and Read on the prefix "bench-", among 200 bindings of other principals
 *     (so the authorizer works on a set of some size);
 *   - quotas: every key set for the principal, unlimited in effect (1e12 per second), so each
 *     request is metered by its Quota object as it would be under a real quota.
 */
import { request } from "./http";

/** The auth-on server's superuser token (EDGELOG_TOKEN), used only to set things up. */
export const BENCH_ADMIN_TOKEN = "bench-admin-token-not-a-secret";
const PRINCIPAL = "User:bench";

async function asAdmin(base: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await request(`${base}${path}`, {
    method,
    body: JSON.stringify(body),
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, "content-type": "application/json" },
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.toString()}`);
  return JSON.parse(res.body.toString());
}

/** Configures keys, ACLs and quotas on an auth-on server; answers the bench principal's API key. */
export async function configureAccess(base: string): Promise<string> {
  const key = (await asAdmin(base, "POST", "/v1/admin/keys", { principal: PRINCIPAL, description: "npm run bench" })) as { secret: string };
  for (const operation of ["Create", "Write", "Read"]) {
    await asAdmin(base, "POST", "/v1/admin/acls", {
      principal: PRINCIPAL,
      resourceType: "topic",
      resourceName: "bench-",
      patternType: "prefixed",
      operation,
    });
  }
  await asAdmin(base, "POST", "/v1/admin/acls", {
    principal: PRINCIPAL,
    resourceType: "group",
    resourceName: "bench-",
    patternType: "prefixed",
    operation: "Read",
  });
  for (let i = 0; i < 200; i++) {
    await asAdmin(base, "POST", "/v1/admin/acls", {
      principal: `User:device-${i}`,
      resourceType: "topic",
      resourceName: `sensors-${i}`,
      operation: i % 2 === 0 ? "Write" : "Read",
    });
  }
  await asAdmin(base, "PUT", `/v1/admin/quotas/${encodeURIComponent(PRINCIPAL)}`, {
    producer_byte_rate: 1e12,
    consumer_byte_rate: 1e12,
    request_rate: 1e12,
  });
  return key.secret;
}
