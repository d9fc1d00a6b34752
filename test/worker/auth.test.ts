/**
 * Bearer-token auth on every /v1 route when EDGELOG_TOKEN is set, and none when it is not.
 *
 * The worker module is called directly with an env whose EDGELOG_TOKEN is set; SELF runs with
 * the wrangler.toml value (empty: local development, no auth).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import worker from "../../worker/index";
import { BASE, api, createTopic, describeTopic, expectError, uniqueTopic } from "./helpers";

const TOKEN = "s3cret";
const TOPIC = uniqueTopic("auth");

/** Calls the worker with auth on. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), { ...env, EDGELOG_TOKEN: TOKEN }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const jsonInit = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

interface Route {
  title: string;
  /** The request; `auth` is the Authorization header to send, if any. */
  request: (auth?: string) => Promise<Response>;
  /** The status the request answers when the token is right. */
  ok: number;
}

const withAuth = (auth?: string): Record<string, string> => (auth === undefined ? {} : { authorization: auth });
let batch: Uint8Array;

/** One request for every /v1 route the app serves, each harmless to repeat. */
const ROUTES: Route[] = [
  { title: "GET /v1/topics (list)", request: (a) => call("/v1/topics", { headers: withAuth(a) }), ok: 200 },
  {
    title: "POST /v1/topics (create)",
    request: (a) => call("/v1/topics", jsonInit("POST", { name: uniqueTopic("auth-created") }, withAuth(a))),
    ok: 201,
  },
  { title: "GET /v1/topics/{topic} (describe)", request: (a) => call(`/v1/topics/${TOPIC}`, { headers: withAuth(a) }), ok: 200 },
  {
    title: "DELETE /v1/topics/{topic}",
    request: async (a) => {
      const name = uniqueTopic("auth-doomed");
      await createTopic(name);
      return call(`/v1/topics/${name}`, { method: "DELETE", headers: withAuth(a) });
    },
    ok: 200,
  },
  {
    title: "POST /v1/topics/{topic}/partitions (grow)",
    request: async (a) => {
      const name = uniqueTopic("auth-grow");
      await createTopic(name);
      return call(`/v1/topics/${name}/partitions`, jsonInit("POST", { count: 2 }, withAuth(a)));
    },
    ok: 200,
  },
  {
    title: "PATCH /v1/topics/{topic}/config",
    request: (a) => call(`/v1/topics/${TOPIC}/config`, jsonInit("PATCH", { config: { "retention.ms": 604_800_000 } }, withAuth(a))),
    ok: 200,
  },
  {
    title: "POST /v1/topics/{topic}/records (produce)",
    request: (a) => call(`/v1/topics/${TOPIC}/records`, jsonInit("POST", { records: [{ value: "v" }] }, withAuth(a))),
    ok: 200,
  },
  {
    title: "GET /v1/topics/{topic}/partitions/{p}/records (fetch)",
    request: (a) => call(`/v1/topics/${TOPIC}/partitions/0/records?offset=0`, { headers: withAuth(a) }),
    ok: 200,
  },
  {
    title: "POST /v1/topics/{topic}/partitions/{p}/batches (binary produce)",
    request: (a) =>
      call(`/v1/topics/${TOPIC}/partitions/0/batches`, {
        method: "POST",
        headers: { "content-type": "application/vnd.kafka.record-batch.v2", ...withAuth(a) },
        body: batch.slice(),
      }),
    ok: 200,
  },
  {
    title: "GET /v1/topics/{topic}/partitions/{p}/batches (binary fetch)",
    request: (a) => call(`/v1/topics/${TOPIC}/partitions/0/batches?offset=0`, { headers: withAuth(a) }),
    ok: 200,
  },
  {
    title: "GET /v1/topics/{topic}/partitions/{p}/offsets",
    request: (a) => call(`/v1/topics/${TOPIC}/partitions/0/offsets?timestamp=latest`, { headers: withAuth(a) }),
    ok: 200,
  },
  { title: "POST /v1/producers", request: (a) => call("/v1/producers", { method: "POST", headers: withAuth(a) }), ok: 200 },
  { title: "GET /v1/openapi.json", request: (a) => call("/v1/openapi.json", { headers: withAuth(a) }), ok: 200 },
];

const WRONG: [string, string | undefined][] = [
  ["no Authorization header", undefined],
  ["a wrong token", "Bearer wrong"],
  ["the token with a different case", "Bearer S3CRET"],
  ["the token with a suffix", "Bearer s3cret2"],
  ["a prefix of the token", "Bearer s3cre"],
  ["the token without the Bearer scheme", TOKEN],
  ["the token under the Basic scheme", `Basic ${TOKEN}`],
  ["an empty bearer token", "Bearer "],
];

beforeAll(async () => {
  batch = await encodeBatch([{ key: null, value: new TextEncoder().encode("binary"), headers: [] }]);
  await createTopic(TOPIC, 1);
});

describe("with EDGELOG_TOKEN set", () => {
  describe.each(ROUTES)("$title", (route) => {
    it.each(WRONG)("answers 401 SASL_AUTHENTICATION_FAILED with %s", async (_title, auth) => {
      const error = await expectError(await route.request(auth), 401, "SASL_AUTHENTICATION_FAILED");
      expect(error.retriable).toBe(false);
    });

    it("works with Authorization: Bearer <token>", async () => {
      const res = await route.request(`Bearer ${TOKEN}`);
      expect(res.status, await res.clone().text()).toBe(route.ok);
    });
  });

  it("the bearer scheme name is case-insensitive, as HTTP says", async () => {
    expect((await call("/v1/topics", { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
  });

  it("refused requests change nothing: no topic created or deleted, no record appended, no config changed, no producer registered", async () => {
    const before = await describeTopic(TOPIC);
    const name = uniqueTopic("auth-never");
    const transactionalId = uniqueTopic("auth-txn");
    const bad = { authorization: "Bearer wrong" };

    expect((await call("/v1/topics", jsonInit("POST", { name }, bad))).status).toBe(401);
    expect((await call(`/v1/topics/${TOPIC}/records`, jsonInit("POST", { records: [{ value: 1 }, { value: 2 }] }, bad))).status).toBe(401);
    expect(
      (
        await call(`/v1/topics/${TOPIC}/partitions/0/batches`, {
          method: "POST",
          headers: { ...bad, "content-type": "application/vnd.kafka.record-batch.v2" },
          body: batch.slice(),
        })
      ).status,
    ).toBe(401);
    expect((await call(`/v1/topics/${TOPIC}/config`, jsonInit("PATCH", { config: { "retention.ms": 1 } }, bad))).status).toBe(401);
    expect((await call(`/v1/topics/${TOPIC}/partitions`, jsonInit("POST", { count: 4 }, bad))).status).toBe(401);
    expect((await call(`/v1/topics/${TOPIC}`, { method: "DELETE", headers: bad })).status).toBe(401);
    expect((await call("/v1/producers", jsonInit("POST", { transactionalId }, bad))).status).toBe(401);

    await expectError(await api(`/v1/topics/${name}`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    expect(await describeTopic(TOPIC)).toEqual(before);
    // A transactional id seen for the first time starts at epoch 0.
    const res = await api("/v1/producers", { method: "POST", json: { transactionalId } });
    expect(((await res.json()) as { producerEpoch: number }).producerEpoch).toBe(0);
  });

  it("an unknown /v1 route is 401 too, so routes cannot be probed without the token", async () => {
    await expectError(await call("/v1/secret-admin"), 401, "SASL_AUTHENTICATION_FAILED");
  });

  it("the index outside /v1 answers without credentials", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: "edgelog" });
  });
});

describe("with EDGELOG_TOKEN unset (local development)", () => {
  it("every /v1 route works without credentials", async () => {
    const name = uniqueTopic("open");
    expect((await api("/v1/topics", { method: "POST", json: { name, partitions: 1 } })).status).toBe(201);
    expect((await api("/v1/topics")).status).toBe(200);
    expect((await api(`/v1/topics/${name}`)).status).toBe(200);
    expect((await api(`/v1/topics/${name}/records`, { method: "POST", json: { records: [{ value: "v" }] } })).status).toBe(200);
    expect((await api(`/v1/topics/${name}/partitions/0/records?offset=0`)).status).toBe(200);
    expect(
      (
        await api(`/v1/topics/${name}/partitions/0/batches`, {
          method: "POST",
          headers: { "content-type": "application/vnd.kafka.record-batch.v2" },
          body: batch.slice(),
        })
      ).status,
    ).toBe(200);
    expect((await api(`/v1/topics/${name}/partitions/0/batches?offset=0`)).status).toBe(200);
    expect((await api(`/v1/topics/${name}/partitions/0/offsets?timestamp=earliest`)).status).toBe(200);
    expect((await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": 1000 } } })).status).toBe(200);
    expect((await api(`/v1/topics/${name}/partitions`, { method: "POST", json: { count: 2 } })).status).toBe(200);
    expect((await api("/v1/producers", { method: "POST" })).status).toBe(200);
    expect((await api("/v1/openapi.json")).status).toBe(200);
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);
  });

  it("an Authorization header is ignored when no token is configured", async () => {
    expect((await api("/v1/topics", { headers: { authorization: "Bearer anything" } })).status).toBe(200);
  });

  it("an empty EDGELOG_TOKEN means no auth, not an empty password", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request(`${BASE}/v1/topics`), { ...env, EDGELOG_TOKEN: "" }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
  });
});
