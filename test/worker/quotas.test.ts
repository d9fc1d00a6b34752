/**
 * Kafka's client quotas inside workerd: producer_byte_rate, consumer_byte_rate and request_rate
 * per principal (its own, else the default entity's, key by key), kept in the principal's Quota
 * object. Over quota the answer is 429 THROTTLING_QUOTA_EXCEEDED with throttleTimeMs and
 * Retry-After, and the refused request changes nothing.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import { RECORD_BATCH_MEDIA_TYPE } from "../../protocol/wire";
import worker from "../../worker/index";
import { BASE, uniqueTopic } from "./helpers";

const TOKEN = "quota-root-s3cret";
const authEnv = { ...env, EDGELOG_TOKEN: TOKEN };

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

async function call(path: string, credential: string, init: { method?: string; json?: unknown; bytes?: Uint8Array } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${credential}` };
  let body: BodyInit | undefined;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  } else if (init.bytes) {
    headers["content-type"] = RECORD_BATCH_MEDIA_TYPE;
    body = init.bytes as Uint8Array<ArrayBuffer>;
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, { method: init.method ?? "GET", headers, body }), authEnv, ctx);
  await waitOnExecutionContext(ctx); // fetched bytes are charged after the answer
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : {} };
}

const admin = (path: string, init?: { method?: string; json?: unknown }) => call(path, TOKEN, init);

/** A principal with a key and every operation on one new topic. */
async function principalOn(topic: string): Promise<{ principal: string; secret: string }> {
  const principal = `User:${uniqueTopic("device")}`;
  const key = await admin("/v1/admin/keys", { method: "POST", json: { principal } });
  expect(key.status).toBe(201);
  const acl = await admin("/v1/admin/acls", {
    method: "POST",
    json: { principal, resourceType: "topic", resourceName: topic, operation: "All" },
  });
  expect(acl.status).toBe(201);
  return { principal, secret: key.body.secret };
}

async function newTopic(): Promise<string> {
  const name = uniqueTopic("quota");
  expect((await admin("/v1/topics", { method: "POST", json: { name, partitions: 1 } })).status).toBe(201);
  return name;
}

const highWatermark = async (topic: string) =>
  (await admin(`/v1/topics/${topic}/partitions/0/offsets?timestamp=latest`)).body.offset as number;

const records = (n: number, size: number) => ({ records: Array.from({ length: n }, (_, i) => ({ value: `${i}:${"x".repeat(size)}` })) });

function expectThrottled(res: Answer, key: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body.error.code).toBe("THROTTLING_QUOTA_EXCEEDED");
  expect(res.body.error.retriable).toBe(true);
  expect(res.body.error.message).toContain(key);
  expect(res.body.throttleTimeMs).toBeGreaterThan(0);
  expect(Number(res.headers.get("retry-after"))).toBe(Math.max(1, Math.ceil(res.body.throttleTimeMs / 1000)));
}

describe("client quotas", () => {
  it("over its producer_byte_rate, a produce is refused with 429, throttleTimeMs and Retry-After, and nothing is appended", async () => {
    const topic = await newTopic();
    const device = await principalOn(topic);
    expect((await admin(`/v1/admin/quotas/${device.principal}`, { method: "PUT", json: { producer_byte_rate: 1_000 } })).status).toBe(200);

    // 1,500 bytes at 1,000 B/s: admitted (the meter may run one second ahead), then 1.5 s ahead.
    expect((await call(`/v1/topics/${topic}/records`, device.secret, { method: "POST", json: records(1, 1_500) })).status).toBe(200);
    const before = await highWatermark(topic);
    const refused = await call(`/v1/topics/${topic}/records`, device.secret, { method: "POST", json: records(1, 10) });
    expectThrottled(refused, "producer_byte_rate");
    expect(refused.body.throttleTimeMs).toBeLessThanOrEqual(600);
    // The binary path is held by the same meter.
    const batch = await encodeBatch([{ key: null, value: new TextEncoder().encode("b"), headers: [] }]);
    expectThrottled(
      await call(`/v1/topics/${topic}/partitions/0/batches`, device.secret, { method: "POST", bytes: batch }),
      "producer_byte_rate",
    );
    expect(await highWatermark(topic)).toBe(before);

    // Another principal with no quota produces to the same topic meanwhile.
    const other = await principalOn(topic);
    for (let i = 0; i < 5; i++) {
      expect((await call(`/v1/topics/${topic}/records`, other.secret, { method: "POST", json: records(1, 1_500) })).status).toBe(200);
    }

    // Once the throttle time has passed, the same principal is admitted again.
    await new Promise((r) => setTimeout(r, refused.body.throttleTimeMs + 50));
    expect((await call(`/v1/topics/${topic}/records`, device.secret, { method: "POST", json: records(1, 10) })).status).toBe(200);
  });

  it("fetched bytes are charged to consumer_byte_rate after the answer: the next fetch waits out the debt", async () => {
    const topic = await newTopic();
    const reader = await principalOn(topic);
    expect((await admin(`/v1/topics/${topic}/records`, { method: "POST", json: records(4, 1_000) })).status).toBe(200);
    expect((await admin(`/v1/admin/quotas/${reader.principal}`, { method: "PUT", json: { consumer_byte_rate: 1_000 } })).status).toBe(200);

    const first = await call(`/v1/topics/${topic}/partitions/0/records?offset=0`, reader.secret);
    expect(first.status).toBe(200);
    expect(first.body.records).toHaveLength(4);
    expectThrottled(await call(`/v1/topics/${topic}/partitions/0/batches?offset=0`, reader.secret), "consumer_byte_rate");
    // Producing is not what is over: the same principal may still produce.
    expect((await call(`/v1/topics/${topic}/records`, reader.secret, { method: "POST", json: records(1, 10) })).status).toBe(200);
  });

  it("the default entity applies to principals without their own quota, key by key; a principal's own key overrides it", async () => {
    const topic = await newTopic();
    const [plain, own] = [await principalOn(topic), await principalOn(topic)];
    // The admin is a principal like any other: give it its own request_rate first.
    expect(
      (await admin(`/v1/admin/quotas/${encodeURIComponent("User:admin")}`, { method: "PUT", json: { request_rate: 1_000_000 } })).status,
    ).toBe(200);
    expect((await admin("/v1/admin/quotas/default", { method: "PUT", json: { request_rate: 2 } })).status).toBe(200);
    expect((await admin(`/v1/admin/quotas/${own.principal}`, { method: "PUT", json: { request_rate: 1_000 } })).status).toBe(200);
    try {
      // At 2 requests/s with one second of burst, three requests are admitted, the fourth waits.
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call(`/v1/topics/${topic}`, plain.secret));
      expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
      expectThrottled(answers[3], "request_rate");
      for (let i = 0; i < 6; i++) expect((await call(`/v1/topics/${topic}`, own.secret)).status).toBe(200);
      const listed = await admin("/v1/admin/quotas");
      expect(listed.body.quotas).toContainEqual({ entity: "default", quotas: { request_rate: 2 } });
    } finally {
      expect((await admin("/v1/admin/quotas/default", { method: "DELETE" })).status).toBe(200);
    }
    for (let i = 0; i < 4; i++) expect((await call(`/v1/topics/${topic}`, plain.secret)).status).toBe(200);
  });

  it("a bad quota is refused and changes nothing", async () => {
    const topic = await newTopic();
    const device = await principalOn(topic);
    expect((await admin(`/v1/admin/quotas/${device.principal}`, { method: "PUT", json: { producer_byte_rate: 5_000 } })).status).toBe(200);
    for (const body of [{ producer_byte_rate: -1 }, { producer_byte_rate: "fast" }, { bytes_per_second: 10 }]) {
      const res = await admin(`/v1/admin/quotas/${device.principal}`, { method: "PUT", json: body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("INVALID_REQUEST");
    }
    expect((await admin("/v1/admin/quotas/not-a-principal", { method: "PUT", json: { request_rate: 1 } })).status).toBe(400);
    const listed = await admin("/v1/admin/quotas");
    expect(listed.body.quotas.filter((q: { entity: string }) => q.entity === device.principal)).toEqual([
      { entity: device.principal, quotas: { producer_byte_rate: 5_000 } },
    ]);
  });
});
