/**
 * Tokens signed with public-key algorithms, against a real `wrangler dev`: ES256 with a key given
 * in EDGELOG_JWT_PUBLIC_KEYS, and RS256 with a key the worker fetches from EDGELOG_JWKS_URL (a
 * local HTTP server this test starts, as an identity provider's JWKS endpoint). A token signed
 * by another key, or naming a key id nobody published, is 401.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sign } from "hono/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../support/dev-server";

const TOKEN = "jwt-keys-test-root-token";
let server: DevServer;
let jwks: Server;
let jwksFetches = 0;

type Jwk = JsonWebKey & { kid?: string; alg?: string };

async function keyPair(alg: "ES256" | "RS256", kid: string): Promise<{ privateJwk: Jwk; publicJwk: Jwk }> {
  const params =
    alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const privateJwk = { ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as Jwk), kid, alg };
  const publicJwk = { ...((await crypto.subtle.exportKey("jwk", pair.publicKey)) as Jwk), kid, alg };
  return { privateJwk, publicJwk };
}

let es: Awaited<ReturnType<typeof keyPair>>;
let rs: Awaited<ReturnType<typeof keyPair>>;
let impostor: Awaited<ReturnType<typeof keyPair>>;

const claims = (sub: string) => ({ sub, exp: Math.floor(Date.now() / 1000) + 300 });

async function read(credential: string) {
  const res = await fetch(`${server.url}/v1/topics/keyed/partitions/0/records?offset=0`, {
    headers: { authorization: `Bearer ${credential}` },
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("tokens signed with ES256 and RS256", () => {
  beforeAll(async () => {
    [es, rs, impostor] = await Promise.all([keyPair("ES256", "es-1"), keyPair("RS256", "rs-1"), keyPair("ES256", "es-1")]);
    jwks = createServer((_req, res) => {
      jwksFetches++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [rs.publicJwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    server = await startDevServer({
      vars: { EDGELOG_TOKEN: TOKEN, EDGELOG_JWT_PUBLIC_KEYS: JSON.stringify({ keys: [es.publicJwk] }), EDGELOG_JWKS_URL: jwksUrl },
    });
    const admin = (path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await admin("/v1/topics", { name: "keyed" })).status).toBe(201);
    for (const principal of ["User:es-user", "User:rs-user"]) {
      expect((await admin("/v1/admin/acls", { principal, resourceType: "topic", resourceName: "keyed", operation: "Read" })).status).toBe(
        201,
      );
    }
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await new Promise((r) => jwks?.close(r));
  });

  it("accepts an ES256 token signed by a configured public key, as the principal its sub names", async () => {
    const token = await sign(claims("es-user"), es.privateJwk as never, "ES256");
    expect((await read(token)).status).toBe(200);
    // Another principal's token from the same key is its own principal: no ACL, 403.
    const other = await sign(claims("nobody"), es.privateJwk as never, "ES256");
    expect((await read(other)).body.error.code).toBe("TOPIC_AUTHORIZATION_FAILED");
  });

  it("accepts an RS256 token whose key it fetched from the JWKS URL", async () => {
    const token = await sign(claims("rs-user"), rs.privateJwk as never, "RS256");
    const ok = await read(token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(jwksFetches).toBeGreaterThan(0);
  });

  it("refuses 401 a token signed by another key under a published kid, or naming an unpublished kid", async () => {
    const forged = await sign(claims("es-user"), impostor.privateJwk as never, "ES256");
    const refused = await read(forged);
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(JSON.stringify(refused.body)).not.toContain(forged);
    const unknownKid = await sign(claims("rs-user"), { ...rs.privateJwk, kid: "rs-2" } as never, "RS256");
    expect((await read(unknownKid)).body.error.message).toContain("unknown key");
  });
});
