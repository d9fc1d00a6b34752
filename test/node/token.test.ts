/**
 * mintToken (web-client/token.ts) against a real `wrangler dev` with EDGELOG_JWT_SECRET, an
 * audience and an issuer: a minted token authenticates as User:<subject> (its ACLs apply, the
 * superuser list applies, the audit trail names it); an expired, not-yet-valid, wrongly signed or
 * wrongly addressed one is 401; the `acl` claim narrows what the token may do and never widens it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MintTokenOptions, mintToken } from "../../web-client/token";
import { type DevServer, startDevServer } from "../support/dev-server";
import { until } from "../support/http";

const TOKEN = "token-test-root-s3cret";
const SECRET = "token-test-jwt-secret-of-32-bytes!";
const AUDIENCE = "edgelog-token-test";
const ISSUER = "https://issuer.edgelog.test";

let server: DevServer;

const mint = (subject: string, extra: Partial<MintTokenOptions> = {}) =>
  mintToken({ secret: SECRET, subject, ttlSeconds: 300, audience: AUDIENCE, issuer: ISSUER, ...extra });

async function call(path: string, credential: string, init: { method?: string; json?: unknown } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}` };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.json === undefined ? "GET" : "POST"),
    headers,
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const read = (topic: string, credential: string) => call(`/v1/topics/${topic}/partitions/0/records?offset=0`, credential);
const write = (topic: string, credential: string) => call(`/v1/topics/${topic}/records`, credential, { json: { records: [{ value: 1 }] } });

async function allow(principal: string, resourceName: string, operation: string) {
  const res = await call("/v1/admin/acls", TOKEN, { json: { principal, resourceType: "topic", resourceName, operation } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

async function refusedWith(res: { status: number; body: any }, status: number, code: string, message?: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  if (message) expect(res.body.error.message).toMatch(message);
}

describe("mintToken against a real worker", () => {
  beforeAll(async () => {
    server = await startDevServer({
      vars: {
        EDGELOG_TOKEN: TOKEN,
        EDGELOG_JWT_SECRET: SECRET,
        EDGELOG_JWT_AUDIENCE: AUDIENCE,
        EDGELOG_JWT_ISSUER: ISSUER,
        EDGELOG_SUPERUSERS: "User:ops",
      },
    });
    for (const name of ["alpha", "beta"]) expect((await call("/v1/topics", TOKEN, { json: { name } })).status).toBe(201);
    await allow("User:reader", "alpha", "Read");
    await allow("User:wide", "alpha", "Read");
    await allow("User:wide", "alpha", "Write");
    await allow("User:wide", "beta", "Read");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("authenticates a minted token as User:<subject>: its ACLs, the superuser list and the audit trail say so", async () => {
    const reader = await mint("reader");
    expect(reader.split(".")).toHaveLength(3);
    expect((await read("alpha", reader)).status).toBe(200);
    // "User:reader" names the same principal.
    expect((await read("alpha", await mint("User:reader"))).status).toBe(200);
    // Another subject is another principal, with no ACL.
    await refusedWith(await read("alpha", await mint("someone-else")), 403, "TOPIC_AUTHORIZATION_FAILED");
    // User:ops is in EDGELOG_SUPERUSERS.
    expect((await call("/v1/topics", await mint("ops"), { json: { name: "made-by-ops" } })).status).toBe(201);
    await refusedWith(await call("/v1/topics", reader, { json: { name: "made-by-reader" } }), 403, "TOPIC_AUTHORIZATION_FAILED");

    // The refusal is in __audit under the token's principal.
    await refusedWith(await read("beta", reader), 403, "TOPIC_AUTHORIZATION_FAILED");
    let audited: any[] = [];
    await until(async () => {
      const res = await read("__audit", TOKEN);
      audited = res.status === 200 ? res.body.records.map((r: { value: unknown }) => r.value) : [];
      return audited.some((r) => r.path === "/v1/topics/beta/partitions/0/records");
    });
    expect(audited).toContainEqual(
      expect.objectContaining({
        principal: "User:reader",
        via: "jwt",
        path: "/v1/topics/beta/partitions/0/records",
        outcome: "denied",
        code: "TOPIC_AUTHORIZATION_FAILED",
      }),
    );
  });

  it("refuses 401 a token that expired, is not valid yet, is signed with another secret, or is addressed elsewhere", async () => {
    const hourAgo = Date.now() - 3600_000;
    await refusedWith(
      await read("alpha", await mint("reader", { now: hourAgo, ttlSeconds: 60 })),
      401,
      "SASL_AUTHENTICATION_FAILED",
      /expired/,
    );
    await refusedWith(
      await read("alpha", await mint("reader", { notBefore: Date.now() / 1000 + 3600 })),
      401,
      "SASL_AUTHENTICATION_FAILED",
      /nbf/,
    );
    await refusedWith(await read("alpha", await mint("reader", { secret: `${SECRET}?` })), 401, "SASL_AUTHENTICATION_FAILED", /signature/);
    await refusedWith(await read("alpha", await mint("reader", { audience: "elsewhere" })), 401, "SASL_AUTHENTICATION_FAILED", /audience/);
    await refusedWith(await read("alpha", await mint("reader", { audience: undefined })), 401, "SASL_AUTHENTICATION_FAILED", /audience/);
    await refusedWith(await read("alpha", await mint("reader", { issuer: "https://other" })), 401, "SASL_AUTHENTICATION_FAILED", /issuer/);
    // A token that is still valid by the clock (minted a minute ago for five) is accepted.
    expect((await read("alpha", await mint("reader", { now: Date.now() - 60_000 }))).status).toBe(200);
  });

  it("narrows a token to its acl claim, and never widens it past its principal's ACLs", async () => {
    const full = await mint("wide");
    expect((await read("beta", full)).status).toBe(200);
    expect((await write("alpha", full)).status).toBe(200);

    const narrowed = await mint("wide", { acl: [{ resourceType: "topic", resourceName: "alpha", operations: ["Read"] }] });
    expect((await read("alpha", narrowed)).status).toBe(200);
    await refusedWith(await read("beta", narrowed), 403, "TOPIC_AUTHORIZATION_FAILED");
    await refusedWith(await write("alpha", narrowed), 403, "TOPIC_AUTHORIZATION_FAILED");

    // A prefixed pattern ("a": alpha, not beta) with All; and All on beta cannot grant the Write no ACL allows.
    const prefixed = await mint("wide", {
      acl: [{ resourceType: "topic", resourceName: "a", patternType: "prefixed", operations: ["All"] }],
    });
    expect((await write("alpha", prefixed)).status).toBe(200);
    await refusedWith(await read("beta", prefixed), 403, "TOPIC_AUTHORIZATION_FAILED");
    const wider = await mint("wide", { acl: [{ resourceType: "topic", resourceName: "beta", operations: ["All"] }] });
    expect((await read("beta", wider)).status).toBe(200);
    await refusedWith(await write("beta", wider), 403, "TOPIC_AUTHORIZATION_FAILED");

    // A claim the worker cannot read is refused, not ignored.
    const malformed = await mint("wide", { acl: [{ resourceType: "topic", resourceName: "alpha", operations: [] }] });
    await refusedWith(await read("alpha", malformed), 401, "SASL_AUTHENTICATION_FAILED", /acl/);
  });

  it("refuses options the worker would refuse, before minting", async () => {
    await expect(mintToken({ secret: "", subject: "a", ttlSeconds: 60 })).rejects.toThrow(TypeError);
    await expect(mintToken({ secret: SECRET, subject: "two words", ttlSeconds: 60 })).rejects.toThrow(/subject/);
    await expect(mintToken({ secret: SECRET, subject: "a", ttlSeconds: 0 })).rejects.toThrow(/ttlSeconds/);
  });
});
