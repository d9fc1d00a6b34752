/**
 * Access, end to end inside workerd: API keys, HS256 tokens, ACLs (deny over allow, prefixed
 * patterns, implied Describe), and the Kafka rule that an unknown topic and a denied one answer
 * alike. The worker module is called with an env whose credentials are configured.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { BASE, uniqueTopic } from "./helpers";

const TOKEN = "root-s3cret";
const JWT_SECRET = "jwt-s3cret-of-thirty-two-bytes!!";
const authEnv = { ...env, EDGELOG_TOKEN: TOKEN, EDGELOG_JWT_SECRET: JWT_SECRET, EDGELOG_JWT_AUDIENCE: "edgelog-test" };

async function call(path: string, credential: string | undefined, init: { method?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (credential !== undefined) headers.authorization = `Bearer ${credential}`;
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
    }),
    authEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const admin = (path: string, init?: { method?: string; json?: unknown }) => call(path, TOKEN, init);

async function keyFor(principal: string): Promise<string> {
  const res = await admin("/v1/admin/keys", { method: "POST", json: { principal } });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^elk_/);
  return res.body.secret as string;
}

async function allow(principal: string, resourceName: string, operation: string, extra: Record<string, string> = {}) {
  const res = await admin("/v1/admin/acls", {
    method: "POST",
    json: { principal, resourceType: "topic", resourceName, operation, ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

describe("access", () => {
  it("an API key's principal may do what its ACLs allow, and nothing more", async () => {
    const topic = uniqueTopic("acl");
    expect((await admin("/v1/topics", { method: "POST", json: { name: topic } })).status).toBe(201);
    const principal = `User:${uniqueTopic("device")}`;
    const secret = await keyFor(principal);

    // No ACL: denied, and an unknown topic answers the same.
    const denied = await call(`/v1/topics/${topic}/records`, secret, { method: "POST", json: { records: [{ value: "x" }] } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe("TOPIC_AUTHORIZATION_FAILED");
    const unknown = await call(`/v1/topics/${topic}-nope/records`, secret, { method: "POST", json: { records: [{ value: "x" }] } });
    expect(unknown.status).toBe(403);
    expect(unknown.body.error.code).toBe("TOPIC_AUTHORIZATION_FAILED");

    await allow(principal, topic, "Write");
    const ok = await call(`/v1/topics/${topic}/records`, secret, { method: "POST", json: { records: [{ value: "x" }] } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // Write implies Describe, not Read.
    expect((await call(`/v1/topics/${topic}`, secret)).status).toBe(200);
    expect((await call(`/v1/topics/${topic}`, secret)).body.config).toBeUndefined();
    expect((await call(`/v1/topics/${topic}/partitions/0/records`, secret)).status).toBe(403);
    // Listing shows only what it may Describe.
    const listed = await call("/v1/topics", secret);
    expect(listed.body.topics.map((t: { name: string }) => t.name)).toEqual([topic]);

    // A deny wins over an allow.
    await allow(principal, topic, "Write", { permission: "deny" });
    expect((await call(`/v1/topics/${topic}/records`, secret, { method: "POST", json: { records: [{ value: "y" }] } })).status).toBe(403);

    // Revoked: 401.
    const keyId = secret.split("_")[1];
    expect((await admin(`/v1/admin/keys/${keyId}`, { method: "DELETE" })).status).toBe(200);
    const revoked = await call(`/v1/topics/${topic}`, secret);
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(JSON.stringify(revoked.body)).not.toContain(secret);
  });

  it("a prefixed ACL covers every topic under the prefix; a token's acl claim narrows it", async () => {
    const prefix = `${uniqueTopic("web")}-`;
    const topic = `${prefix}a`;
    expect((await admin("/v1/topics", { method: "POST", json: { name: topic } })).status).toBe(201);
    const sub = uniqueTopic("alice");
    await allow(`User:${sub}`, prefix, "All", { patternType: "prefixed" });
    const now = Math.floor(Date.now() / 1000);
    const token = await sign({ sub, aud: "edgelog-test", exp: now + 60 }, JWT_SECRET);
    expect((await call(`/v1/topics/${topic}/partitions/0/records`, token)).status).toBe(200);
    const narrowed = await sign(
      { sub, aud: "edgelog-test", exp: now + 60, acl: [{ resourceType: "topic", resourceName: topic, operations: ["Describe"] }] },
      JWT_SECRET,
    );
    expect((await call(`/v1/topics/${topic}`, narrowed)).status).toBe(200);
    expect((await call(`/v1/topics/${topic}/partitions/0/records`, narrowed)).status).toBe(403);

    const expired = await sign({ sub, aud: "edgelog-test", exp: now - 120 }, JWT_SECRET);
    expect((await call(`/v1/topics/${topic}`, expired)).body.error.code).toBe("SASL_AUTHENTICATION_FAILED");
    const early = await sign({ sub, aud: "edgelog-test", exp: now + 600, nbf: now + 300 }, JWT_SECRET);
    expect((await call(`/v1/topics/${topic}`, early)).status).toBe(401);
    const otherAudience = await sign({ sub, aud: "someone-else", exp: now + 60 }, JWT_SECRET);
    expect((await call(`/v1/topics/${topic}`, otherAudience)).status).toBe(401);
    // Within the clock skew: still valid.
    const skewed = await sign({ sub, aud: "edgelog-test", exp: now - 5 }, JWT_SECRET);
    expect((await call(`/v1/topics/${topic}`, skewed)).status).toBe(200);
  });
});
