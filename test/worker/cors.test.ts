/**
 * Cross-origin rules inside workerd (worker/api/http/cors.ts): preflights for a listed origin
 * answer without credentials and allow the headers the client sends; answers to a listed origin
 * are readable (errors too) and expose the offset headers; any other Origin — preflight, request
 * or WebSocket upgrade — is refused 403 POLICY_VIOLATION before auth, with or without auth on;
 * no Origin and the worker's own origin (the console page) pass untouched.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { BASE, expectError, uniqueTopic } from "./helpers";

const TOKEN = "cors-root-s3cret";
const APP = "https://app.example";
const DEV = "http://127.0.0.1:5173";
/** Auth on, two listed origins (one written with a trailing slash and upper case, as people do). */
const listed = { ...env, EDGELOG_TOKEN: TOKEN, EDGELOG_CORS_ORIGINS: ` ${APP} ,HTTP://127.0.0.1:5173/` };
/** Auth off (local development), no origin listed. */
const open = { ...env, EDGELOG_TOKEN: "", EDGELOG_CORS_ORIGINS: "" };

async function call(e: typeof env, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, init), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const admin = { authorization: `Bearer ${TOKEN}` };

async function createTopic(e: typeof env, headers: Record<string, string> = {}): Promise<string> {
  const name = uniqueTopic("cors");
  const res = await call(e, "/v1/topics", {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ name, partitions: 1 }),
  });
  expect(res.status, await res.text()).toBe(201);
  return name;
}

async function produceValues(e: typeof env, topic: string, values: string[], headers: Record<string, string> = {}): Promise<void> {
  const res = await call(e, `/v1/topics/${topic}/records`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ records: values.map((value) => ({ value })) }),
  });
  expect(res.status, await res.text()).toBe(200);
}

async function highWatermark(e: typeof env, topic: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await call(e, `/v1/topics/${topic}`, { headers });
  const body = (await res.json()) as { partitions: { highWatermark: number }[] };
  expect(res.status).toBe(200);
  return body.partitions[0].highWatermark;
}

function preflight(e: typeof env, path: string, origin: string, method = "POST", headers = "authorization, content-type, idempotency-key") {
  return call(e, path, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
  });
}

const corsHeaders = (res: Response) => {
  const names: string[] = [];
  res.headers.forEach((_value, name) => {
    if (name.startsWith("access-control-")) names.push(name);
  });
  return names;
};
const list = (value: string | null) => (value ?? "").split(",").map((s) => s.trim().toLowerCase());

/** Opens a socket through the worker and answers the first text frame it receives. */
async function firstFrame(res: Response): Promise<Record<string, unknown>> {
  expect(res.status, res.status === 101 ? "" : await res.text()).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frame = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no frame within 10 s")), 10_000);
    ws.addEventListener("message", (event) => {
      clearTimeout(timer);
      resolve(JSON.parse(event.data as string));
    });
  });
  ws.close(1000, "done");
  return frame;
}

function upgrade(e: typeof env, path: string, origin?: string): Promise<Response> {
  return call(e, path, { headers: { upgrade: "websocket", ...(origin === undefined ? {} : { origin }) } });
}

describe("CORS with listed origins (auth on)", () => {
  it("answers a preflight from a listed origin 204 without credentials, allowing the methods and headers the client sends", async () => {
    const res = await preflight(listed, "/v1/topics/sensors/records", APP);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(res.headers.get("access-control-allow-origin")).toBe(APP);
    expect(list(res.headers.get("access-control-allow-headers"))).toEqual(
      expect.arrayContaining(["authorization", "content-type", "idempotency-key"]),
    );
    expect(list(res.headers.get("access-control-allow-methods"))).toEqual(
      expect.arrayContaining(["get", "post", "put", "patch", "delete"]),
    );
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(list(res.headers.get("vary"))).toContain("origin");
    // Bearer tokens, never cookies.
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();

    // The second origin was configured as "HTTP://127.0.0.1:5173/": a browser sends it normalized.
    const dev = await preflight(listed, "/v1/topics/sensors/partitions/0/batches", DEV, "GET", "authorization");
    expect(dev.status).toBe(204);
    expect(dev.headers.get("access-control-allow-origin")).toBe(DEV);
  });

  it("refuses a preflight from any other origin 403 POLICY_VIOLATION, with no allow headers", async () => {
    for (const origin of ["https://evil.example", "http://app.example", "https://app.example:8443", "https://app.example.evil", "null"]) {
      const res = await preflight(listed, "/v1/topics/sensors/records", origin);
      expect(corsHeaders(res), origin).toEqual([]);
      const error = await expectError(res, 403, "POLICY_VIOLATION");
      expect(error.message).toContain("EDGELOG_CORS_ORIGINS");
    }
  });

  it("lets a listed origin's request through to auth and its route, with a readable answer that exposes the offset headers", async () => {
    const topic = await createTopic(listed, admin);
    const produced = await call(listed, `/v1/topics/${topic}/records`, {
      method: "POST",
      headers: { origin: APP, ...admin, "content-type": "application/json", "idempotency-key": "cors-1" },
      body: JSON.stringify({ records: [{ value: "from the page" }] }),
    });
    expect(produced.status, await produced.clone().text()).toBe(200);
    expect(produced.headers.get("access-control-allow-origin")).toBe(APP);
    expect(list(produced.headers.get("vary"))).toContain("origin");
    const exposed = list(produced.headers.get("access-control-expose-headers"));
    expect(exposed).toEqual(
      expect.arrayContaining([
        "edgelog-high-watermark",
        "edgelog-log-start-offset",
        "edgelog-next-offset",
        "edgelog-replica",
        "retry-after",
      ]),
    );

    // A binary fetch: the headers the client reads are there, and exposed.
    const fetched = await call(listed, `/v1/topics/${topic}/partitions/0/batches?offset=0`, { headers: { origin: APP, ...admin } });
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get("access-control-allow-origin")).toBe(APP);
    expect(fetched.headers.get("edgelog-next-offset")).toBe("1");
    expect(fetched.headers.get("edgelog-high-watermark")).toBe("1");
    await fetched.arrayBuffer();

    // Auth still applies, and its refusal is readable by the page.
    const refused = await call(listed, `/v1/topics/${topic}/records`, {
      method: "POST",
      headers: { origin: APP, "content-type": "application/json" },
      body: JSON.stringify({ records: [{ value: "no credential" }] }),
    });
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP);
    await expectError(refused, 401, "SASL_AUTHENTICATION_FAILED");
    expect(await highWatermark(listed, topic, admin)).toBe(1);
  });

  it("refuses another origin's request before auth, even one with the superuser's token, and applies nothing", async () => {
    const topic = await createTopic(listed, admin);
    const res = await call(listed, `/v1/topics/${topic}/records`, {
      method: "POST",
      headers: { origin: "https://evil.example", ...admin, "content-type": "application/json" },
      body: JSON.stringify({ records: [{ value: "x" }] }),
    });
    expect(corsHeaders(res)).toEqual([]);
    await expectError(res, 403, "POLICY_VIOLATION");
    // Without a credential it is still 403 (the origin is judged first), not 401.
    await expectError(await call(listed, "/v1/topics", { headers: { origin: "https://evil.example" } }), 403, "POLICY_VIOLATION");
    expect(await highWatermark(listed, topic, admin)).toBe(0);

    // Refused requests are audited (auth on), with no principal: none was looked at.
    const audited = await call(listed, "/v1/topics/__audit/partitions/0/records?offset=0&maxRecords=1000", { headers: admin });
    expect(audited.status).toBe(200);
    const records = ((await audited.json()) as { records: { value: Record<string, unknown> }[] }).records.map((r) => r.value);
    expect(records).toContainEqual(
      expect.objectContaining({
        action: `POST /v1/topics/${topic}/records`,
        outcome: "denied",
        status: 403,
        code: "POLICY_VIOLATION",
        principal: null,
      }),
    );
  });

  it("refuses a WebSocket upgrade from an unlisted origin 403 POLICY_VIOLATION before auth or any lookup; a listed one subscribes", async () => {
    const topic = await createTopic(listed, admin);
    await produceValues(listed, topic, ["a"], admin);
    const path = `/v1/topics/${topic}/partitions/0/subscribe?offset=0&access_token=${TOKEN}`;

    // A valid token does not help a foreign page; no credential, or an unknown topic, answer the same.
    for (const p of [
      path,
      `/v1/topics/${topic}/partitions/0/subscribe?offset=0`,
      `/v1/topics/${topic}-nope/partitions/0/subscribe?offset=0`,
    ]) {
      const refused = await upgrade(listed, p, "https://evil.example");
      expect(refused.webSocket).toBeNull();
      await expectError(refused, 403, "POLICY_VIOLATION");
    }
    // The group subscription too.
    await expectError(await upgrade(listed, "/v1/groups/g/members/m/subscribe", "https://evil.example"), 403, "POLICY_VIOLATION");

    // A listed origin's upgrade goes on to auth: refused without a credential, subscribed with one.
    await expectError(await upgrade(listed, `/v1/topics/${topic}/partitions/0/subscribe?offset=0`, APP), 401, "SASL_AUTHENTICATION_FAILED");
    const res = await upgrade(listed, path, APP);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const frame = await firstFrame(res);
    expect((frame.records as { value: unknown }[]).map((r) => r.value)).toEqual(["a"]);
  });
});

describe("CORS with no origin listed (auth off: local development)", () => {
  it("sends no CORS headers to a request without an Origin or from the worker's own origin", async () => {
    const topic = await createTopic(open);
    for (const headers of [{}, { origin: new URL(BASE).origin }] as Record<string, string>[]) {
      const res = await call(open, `/v1/topics/${topic}/records`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ records: [{ value: "ok" }] }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(corsHeaders(res)).toEqual([]);
    }
    expect(await highWatermark(open, topic)).toBe(2);

    // The browser's own word (Sec-Fetch-Site, which no page can set) makes a request same-origin whatever its Origin
    // says (a proxy rewrote the URL, or a referrer policy made it "null"); "same-site" is another origin.
    for (const [origin, site, status] of [
      ["null", "same-origin", 200],
      ["https://proxy.example", "same-origin", 200],
      ["https://proxy.example", "same-site", 403],
      ["https://proxy.example", "cross-site", 403],
    ] as const) {
      const res = await call(open, `/v1/topics/${topic}`, { headers: { origin, "sec-fetch-site": site } });
      expect(res.status, `${origin} ${site}`).toBe(status);
      expect(corsHeaders(res)).toEqual([]);
      await res.text();
    }
  });

  it("allows nothing cross-origin: preflights, simple requests and WebSocket upgrades from another origin are refused", async () => {
    const topic = await createTopic(open);
    await produceValues(open, topic, ["a"]);
    const pre = await preflight(open, `/v1/topics/${topic}/records`, APP);
    expect(corsHeaders(pre)).toEqual([]);
    await expectError(pre, 403, "POLICY_VIOLATION");

    // A "simple" request (a form-encoded POST: no preflight in a browser) would be read as JSON: refused, nothing appended.
    const simple = await call(open, `/v1/topics/${topic}/records`, {
      method: "POST",
      headers: { origin: APP, "content-type": "text/plain" },
      body: JSON.stringify({ records: [{ value: "csrf" }] }),
    });
    expect(corsHeaders(simple)).toEqual([]);
    await expectError(simple, 403, "POLICY_VIOLATION");
    expect(await highWatermark(open, topic)).toBe(1);

    const ws = await upgrade(open, `/v1/topics/${topic}/partitions/0/subscribe?offset=0`, APP);
    expect(ws.webSocket).toBeNull();
    await expectError(ws, 403, "POLICY_VIOLATION");
  });

  it("lets the console page subscribe same-origin, and a client without an Origin", async () => {
    const topic = await createTopic(open);
    await produceValues(open, topic, ["tail me"]);
    for (const origin of [new URL(BASE).origin, undefined]) {
      const frame = await firstFrame(await upgrade(open, `/v1/topics/${topic}/partitions/0/subscribe?offset=0`, origin));
      expect((frame.records as { value: unknown }[]).map((r) => r.value)).toEqual(["tail me"]);
    }
  });
});
