/**
 * Access on open sockets, against a real `wrangler dev` with auth on: revoking a key, or removing
 * the ACL a socket was opened under, closes that socket (4031, with the reason's code) within the
 * staleness the README states (ACCESS_STALENESS_MS + SOCKET_RECHECK_MS = 10 s), on the partition
 * socket and on the group socket; other principals' sockets stay open.
 */
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgelogError } from "../../protocol/errors";
import { Consumer } from "../../web-client/consumer";
import { PUSH_CLOSE } from "../../web-client";
import { Subscription } from "../../web-client/subscription";
import { startDevServer, type DevServer } from "../support/dev-server";
import { callingAs, until } from "../support/http";

const TOKEN = "revocation-test-admin-token";
/** What the README promises (worker/access/snapshot.ts: ACCESS_STALENESS_MS + SOCKET_RECHECK_MS). */
const STALENESS_MS = 10_000;
let server: DevServer;

const admin = callingAs(() => server.url, TOKEN);

const readAcl = (principal: string, resourceType: string, resourceName: string) => ({
  principal,
  resourceType,
  resourceName,
  operation: "Read",
});

async function keyWithRead(name: string, extra: { resourceType: string; resourceName: string }[] = []) {
  const principal = `User:${name}`;
  const key = await admin("/v1/admin/keys", { principal });
  expect(key.status).toBe(201);
  for (const r of [{ resourceType: "topic", resourceName: "guarded" }, ...extra]) {
    expect((await admin("/v1/admin/acls", readAcl(principal, r.resourceType, r.resourceName))).status).toBe(201);
  }
  return { principal, keyId: key.body.keyId as string, secret: key.body.secret as string };
}

/** A tail of guarded/0 with `secret`: the records it got, and how it ended. */
function tail(secret: string) {
  const got: unknown[] = [];
  let ended: { code: number; message: string; at: number } | null = null;
  const sub = new Subscription({
    url: server.url,
    topic: "guarded",
    partition: 0,
    offset: 0,
    token: secret,
    WebSocket: WebSocket as never,
    onRecords: (records) => {
      got.push(...records.map((r) => r.value));
    },
    onEnd: ({ code, message }) => {
      ended = { code, message, at: Date.now() };
    },
  });
  sub.start();
  return { sub, got, ended: () => ended };
}

describe("access on open sockets", () => {
  beforeAll(async () => {
    server = await startDevServer({ vars: { EDGELOG_TOKEN: TOKEN } });
    expect((await admin("/v1/topics", { name: "guarded", partitions: 1 })).status).toBe(201);
    expect((await admin("/v1/topics/guarded/records", { records: [{ value: "first" }] })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("revoking a key closes its partition sockets with 4031 within the stated staleness; another key's socket stays open", async () => {
    const [doomed, other] = [await keyWithRead("tail-doomed"), await keyWithRead("tail-other")];
    const [a, b] = [tail(doomed.secret), tail(other.secret)];
    await until(() => a.got.length === 1 && b.got.length === 1);

    const revokedAt = Date.now();
    expect((await admin(`/v1/admin/keys/${doomed.keyId}`, undefined, "DELETE")).status).toBe(200);
    await until(() => a.ended() !== null, STALENESS_MS + 5_000);
    expect(a.ended()!.code).toBe(PUSH_CLOSE.accessRevoked);
    expect(a.ended()!.message).toContain("SASL_AUTHENTICATION_FAILED");
    expect(a.ended()!.at - revokedAt).toBeLessThanOrEqual(STALENESS_MS);

    // The other socket is still open and still gets new records; the revoked one got none.
    expect((await admin("/v1/topics/guarded/records", { records: [{ value: "second" }] })).status).toBe(200);
    await until(() => b.got.length === 2);
    expect(b.ended()).toBeNull();
    expect(a.got).toEqual(["first"]);
    b.sub.close();
  }, 60_000);

  it("removing the ACL a socket was opened under closes it with TOPIC_AUTHORIZATION_FAILED", async () => {
    const reader = await keyWithRead("tail-acl");
    const t = tail(reader.secret);
    await until(() => t.got.length >= 1);
    const removedAt = Date.now();
    const removed = await admin(
      "/v1/admin/acls",
      { principal: reader.principal, resourceType: "topic", resourceName: "guarded" },
      "DELETE",
    );
    expect(removed.body.deleted).toHaveLength(1);
    await until(() => t.ended() !== null, STALENESS_MS + 5_000);
    expect(t.ended()!.code).toBe(PUSH_CLOSE.accessRevoked);
    expect(t.ended()!.message).toContain("TOPIC_AUTHORIZATION_FAILED");
    expect(t.ended()!.at - removedAt).toBeLessThanOrEqual(STALENESS_MS);
  }, 60_000);

  it("revoking a key ends the group socket of a consumer using it: run() rejects with SASL_AUTHENTICATION_FAILED", async () => {
    const member = await keyWithRead("group-doomed", [{ resourceType: "group", resourceName: "guarded-readers" }]);
    const seen: unknown[] = [];
    const consumer = new Consumer({
      url: server.url,
      token: member.secret,
      groupId: "guarded-readers",
      topics: ["guarded"],
      transport: "websocket",
      WebSocket: WebSocket as never,
    });
    const running = consumer.run({
      eachBatch: async ({ records }) => {
        seen.push(...records.map((r) => r.value));
      },
    });
    const outcome = running.then(
      () => null,
      (err: unknown) => ({ err, at: Date.now() }),
    );
    await until(() => seen.length >= 1);
    const revokedAt = Date.now();
    expect((await admin(`/v1/admin/keys/${member.keyId}`, undefined, "DELETE")).status).toBe(200);
    const ended = await outcome;
    expect(ended).not.toBeNull();
    expect(ended!.err).toBeInstanceOf(EdgelogError);
    expect((ended!.err as EdgelogError).code).toBe("SASL_AUTHENTICATION_FAILED");
    expect(ended!.at - revokedAt).toBeLessThanOrEqual(STALENESS_MS);
    await consumer.stop().catch(() => {});
  }, 60_000);
});
