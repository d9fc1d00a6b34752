/**
 * Bad input on every route: each answer is the JSON error shape with the right status and code,
 * and a refused request changes nothing (DESIGN: "A 4xx answer means nothing was applied").
 *
 * One topic ("shared", two partitions with records in both) is the target of every case; after
 * each refusal its description (watermarks, sizes, config) and the topic list are compared with
 * what they were before.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import { BASE, api, createTopic, describeTopic, expectError, fetchRecords, produce, uniqueTopic, type TopicDescription } from "./helpers";

const SHARED = uniqueTopic("shared");
const MIB = 1024 * 1024;
const BINARY = { "content-type": "application/vnd.kafka.record-batch.v2" };

beforeAll(async () => {
  await createTopic(SHARED, 2);
  for (const partition of [0, 1]) {
    const res = await produce(SHARED, [
      { value: "a", partition },
      { value: "b", partition },
    ]);
    expect(res.status).toBe(200);
  }
});

async function snapshot(): Promise<{ topic: TopicDescription; list: unknown }> {
  const list = await (await api("/v1/topics")).json();
  return { topic: await describeTopic(SHARED), list };
}

/** Sends `request`, expects the error, and checks nothing changed. */
async function expectRefusedAndUnchanged(request: () => Promise<Response>, status: number, code: string) {
  const before = await snapshot();
  expect(before.topic.partitions.map((p) => p.highWatermark)).toEqual([2, 2]);
  const error = await expectError(await request(), status, code);
  expect(await snapshot()).toEqual(before);
  return error;
}

const post =
  (path: string, body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) =>
  () =>
    api(path, { method: "POST", body, headers });
const records = `/v1/topics/${SHARED}/records`;
const produceRaw = (body: string) => post(records, body);
const produceJson =
  (body: unknown, query = "") =>
  () =>
    api(`${records}${query}`, { method: "POST", json: body });
const oneRecord = (record: unknown) => produceJson({ records: [{ value: "fine", partition: 0 }, record] });

describe("malformed produce bodies are 400 and append nothing", () => {
  it.each([
    ["a body that is not JSON", produceRaw("records: [1]"), "INVALID_REQUEST"],
    ["an empty body", produceRaw(""), "INVALID_REQUEST"],
    ["a JSON array body", produceRaw('[{"value": 1}]'), "INVALID_REQUEST"],
    ["a JSON string body", produceRaw('"records"'), "INVALID_REQUEST"],
    ["a JSON null body", produceRaw("null"), "INVALID_REQUEST"],
    ["an unknown body field", produceJson({ records: [{ value: 1 }], acks: "all" }), "INVALID_REQUEST"],
    ["a missing records field", produceJson({}), "INVALID_REQUEST"],
    ["an empty records array", produceJson({ records: [] }), "INVALID_REQUEST"],
    ["records that is an object", produceJson({ records: { value: 1 } }), "INVALID_REQUEST"],
  ])("%s is 400 %s", async (_title, request, code) => {
    await expectRefusedAndUnchanged(request, 400, code);
  });
});

describe("an invalid record refuses the whole request with 400 INVALID_RECORD, the valid records beside it included", () => {
  it.each([
    ["a record that is a number", 1],
    ["a record that is a string", "value"],
    ["a record that is null", null],
    ["a record that is an array", [{ value: 1 }]],
    ["a numeric key", { key: 5, value: 1 }],
    ["an object key", { key: { id: 1 }, value: 1 }],
    ["a boolean key", { key: true, value: 1 }],
    ["headers that are an array", { value: 1, headers: [["h", "v"]] }],
    ["headers that are a string", { value: 1, headers: "h=v" }],
    ["a header value that is a number", { value: 1, headers: { h: 1 } }],
    ["a header value that is an object", { value: 1, headers: { h: { v: 1 } } }],
    ["an unknown record field", { value: 1, offset: 3 }],
    ["value not base64 with valueEncoding base64", { value: "***", valueEncoding: "base64" }],
    ["a base64 value of impossible length", { value: "a", valueEncoding: "base64" }],
    ["key not base64 with keyEncoding base64", { key: "%%%", keyEncoding: "base64", value: 1 }],
    ["a numeric value with valueEncoding base64", { value: 12, valueEncoding: "base64" }],
    ["an encoding other than base64", { value: "00ff", valueEncoding: "hex" }],
    ["a negative timestamp", { value: 1, timestamp: -1 }],
    ["a float timestamp", { value: 1, timestamp: 1.5 }],
    ["a string timestamp", { value: 1, timestamp: "1700000000000" }],
    ["a timestamp beyond safe integers", { value: 1, timestamp: 2 ** 53 }],
    ["a negative partition", { value: 1, partition: -1 }],
    ["a float partition", { value: 1, partition: 0.5 }],
    ["a string partition", { value: 1, partition: "1" }],
  ])("%s", async (_title, record) => {
    await expectRefusedAndUnchanged(oneRecord(record), 400, "INVALID_RECORD");
  });
});

describe("produce to what does not exist is 404 and appends nothing", () => {
  it("a record for a partition beyond the topic's count is 404 UNKNOWN_TOPIC_OR_PARTITION, and its valid neighbours are not appended", async () => {
    await expectRefusedAndUnchanged(
      produceJson({
        records: [
          { value: 1, partition: 0 },
          { value: 2, partition: 2 },
        ],
      }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });

  it("an unknown topic is 404 UNKNOWN_TOPIC_OR_PARTITION, and no topic is created", async () => {
    const ghost = uniqueTopic("ghost");
    await expectRefusedAndUnchanged(() => produce(ghost, [{ value: 1 }]), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectError(await api(`/v1/topics/${ghost}`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("a binary batch for a partition beyond the topic's count is 404 UNKNOWN_TOPIC_OR_PARTITION", async () => {
    const batch = await encodeBatch([{ key: null, value: new TextEncoder().encode("v"), headers: [] }]);
    await expectRefusedAndUnchanged(post(`/v1/topics/${SHARED}/partitions/2/batches`, batch, BINARY), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });
});

describe("produce options", () => {
  it.each(["2", "-2", "none", "ALL", ""])("acks=%s is 400 INVALID_REQUIRED_ACKS", async (acks) => {
    await expectRefusedAndUnchanged(produceJson({ records: [{ value: 1 }] }, `?acks=${acks}`), 400, "INVALID_REQUIRED_ACKS");
  });

  it.each([
    ["a space", "retry 1"],
    ["a tab", "retry\t1"],
    ["a DEL control character", "retry\u007f1"],
    ["more than 255 characters", "k".repeat(256)],
  ])("an Idempotency-Key with %s is 400 INVALID_REQUEST", async (_title, key) => {
    await expectRefusedAndUnchanged(
      () => api(records, { method: "POST", headers: { "idempotency-key": key }, json: { records: [{ value: 1 }] } }),
      400,
      "INVALID_REQUEST",
    );
  });

  it("more than 10,000 records in one request is 413 RECORD_LIST_TOO_LARGE", async () => {
    const many = Array.from({ length: 10_001 }, () => ({ value: null }));
    await expectRefusedAndUnchanged(produceJson({ records: many }), 413, "RECORD_LIST_TOO_LARGE");
  });

  it("a JSON body over 8 MiB is 413 RECORD_LIST_TOO_LARGE", async () => {
    const body = JSON.stringify({ records: [{ value: "x".repeat(8 * MIB) }] });
    expect(body.length).toBeGreaterThan(8 * MIB);
    await expectRefusedAndUnchanged(produceRaw(body), 413, "RECORD_LIST_TOO_LARGE");
  });

  it("a streamed body over 8 MiB without a Content-Length is 413 RECORD_LIST_TOO_LARGE", async () => {
    // The server abandons the stream past the limit; workerd then logs "Network connection lost"
    // for the abandoned upload, which is expected.
    const chunk = new TextEncoder().encode("x".repeat(MIB));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"records":[{"value":"'));
        if (sent > 9) controller.close();
        else controller.enqueue(chunk);
        sent++;
      },
    });
    await expectRefusedAndUnchanged(
      () => SELF.fetch(`${BASE}${records}`, { method: "POST", body: stream, headers: { "content-type": "application/json" } }),
      413,
      "RECORD_LIST_TOO_LARGE",
    );
  });

  it("a binary produce with an empty body is 400 INVALID_REQUEST", async () => {
    await expectRefusedAndUnchanged(post(`/v1/topics/${SHARED}/partitions/0/batches`, new Uint8Array(0), BINARY), 400, "INVALID_REQUEST");
  });

  it("a binary batch with a flipped byte or cut short is 400 CORRUPT_MESSAGE, and bytes of another format are 400 UNSUPPORTED_FOR_MESSAGE_FORMAT", async () => {
    const batch = await encodeBatch([{ key: null, value: new TextEncoder().encode("value"), headers: [] }]);
    const flipped = batch.slice();
    flipped[flipped.length - 3] ^= 0xff;
    const path = `/v1/topics/${SHARED}/partitions/0/batches`;
    await expectRefusedAndUnchanged(post(path, flipped, BINARY), 400, "CORRUPT_MESSAGE");
    await expectRefusedAndUnchanged(post(path, batch.slice(0, batch.length - 2), BINARY), 400, "CORRUPT_MESSAGE");
    await expectRefusedAndUnchanged(
      post(path, new TextEncoder().encode("definitely not a record batch, no"), BINARY),
      400,
      "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    );
  });
});

describe("fetch parameters", () => {
  const fetchAt =
    (query: string, partition = "0") =>
    () =>
      api(`/v1/topics/${SHARED}/partitions/${partition}/records?${query}`);

  it.each([
    ["offset=abc", "INVALID_REQUEST"],
    ["offset=-1", "OFFSET_OUT_OF_RANGE"],
    ["offset=1.5", "INVALID_REQUEST"],
    ["offset=0&maxRecords=0", "INVALID_REQUEST"],
    ["offset=0&maxRecords=10001", "INVALID_REQUEST"],
    ["offset=0&maxRecords=ten", "INVALID_REQUEST"],
    ["offset=0&maxWaitMs=-1", "INVALID_REQUEST"],
    ["offset=0&maxWaitMs=30001", "INVALID_REQUEST"],
    ["offset=0&maxWaitMs=1e3", "INVALID_REQUEST"],
    ["offset=0&minBytes=-1", "INVALID_REQUEST"],
    ["offset=0&maxBytes=0", "INVALID_FETCH_SIZE"],
    ["offset=0&maxBytes=16777217", "INVALID_FETCH_SIZE"],
  ])("?%s is 400 %s", async (query, code) => {
    await expectRefusedAndUnchanged(fetchAt(query), 400, code);
  });

  it.each(["abc", "-1", "1.5"])("partition %s in the path is 400 INVALID_REQUEST", async (partition) => {
    await expectRefusedAndUnchanged(fetchAt("offset=0", partition), 400, "INVALID_REQUEST");
  });

  it("a partition beyond the topic's count is 404 UNKNOWN_TOPIC_OR_PARTITION, on JSON and binary fetch and list offsets", async () => {
    await expectRefusedAndUnchanged(fetchAt("offset=0", "2"), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectRefusedAndUnchanged(() => api(`/v1/topics/${SHARED}/partitions/2/batches?offset=0`), 404, "UNKNOWN_TOPIC_OR_PARTITION");
    await expectRefusedAndUnchanged(
      () => api(`/v1/topics/${SHARED}/partitions/2/offsets?timestamp=latest`),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });

  it("fetch from an unknown topic is 404 UNKNOWN_TOPIC_OR_PARTITION", async () => {
    await expectRefusedAndUnchanged(() => fetchRecords(uniqueTopic("ghost"), 0, "offset=0"), 404, "UNKNOWN_TOPIC_OR_PARTITION");
  });

  it("an offset beyond the high watermark is 400 OFFSET_OUT_OF_RANGE, on JSON and binary fetch", async () => {
    await expectRefusedAndUnchanged(fetchAt("offset=3"), 400, "OFFSET_OUT_OF_RANGE");
    await expectRefusedAndUnchanged(() => api(`/v1/topics/${SHARED}/partitions/0/batches?offset=3`), 400, "OFFSET_OUT_OF_RANGE");
  });

  it("an offset equal to the high watermark answers 200 with no records, on JSON and binary fetch", async () => {
    const res = await fetchAt("offset=2")();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ records: [], highWatermark: 2, nextOffset: 2 });
    const bin = await api(`/v1/topics/${SHARED}/partitions/0/batches?offset=2`);
    expect(bin.status).toBe(200);
    expect(bin.headers.get("edgelog-high-watermark")).toBe("2");
    expect((await bin.arrayBuffer()).byteLength).toBe(0);
  });

  it("list offsets with a timestamp that is neither earliest, latest nor a non-negative integer is 400 INVALID_REQUEST", async () => {
    for (const timestamp of ["yesterday", "-5", "1.5"]) {
      await expectRefusedAndUnchanged(
        () => api(`/v1/topics/${SHARED}/partitions/0/offsets?timestamp=${timestamp}`),
        400,
        "INVALID_REQUEST",
      );
    }
  });
});

describe("admin routes refuse malformed bodies", () => {
  const json = { "content-type": "application/json" };
  it.each([
    ["create with a body that is not JSON", post("/v1/topics", "name=x", json)],
    ["create with a JSON array body", post("/v1/topics", '[{"name":"x"}]', json)],
    ["grow with a body that is not JSON", post(`/v1/topics/${SHARED}/partitions`, "{count: 3}", json)],
    ["alter config with a JSON array body", () => api(`/v1/topics/${SHARED}/config`, { method: "PATCH", body: "[]", headers: json })],
    ["producer ids with a body that is not JSON", post("/v1/producers", "{", json)],
  ])("%s is 400 INVALID_REQUEST", async (_title, request) => {
    await expectRefusedAndUnchanged(request, 400, "INVALID_REQUEST");
  });

  it("an admin body over 64 KiB is 413 RECORD_LIST_TOO_LARGE", async () => {
    const body = JSON.stringify({ name: uniqueTopic("big"), config: {}, pad: "p".repeat(65 * 1024) });
    await expectRefusedAndUnchanged(post("/v1/topics", body, json), 413, "RECORD_LIST_TOO_LARGE");
  });
});

describe("unknown routes", () => {
  it.each([
    ["GET", "/v1/nothing"],
    ["GET", "/v2/topics"],
    ["PUT", "/v1/topics"],
    ["GET", `/v1/topics/${SHARED}/records`],
    ["DELETE", `/v1/topics/${SHARED}/partitions/0/records`],
  ])("%s %s is 404 with the JSON error shape", async (method, path) => {
    const error = await expectRefusedAndUnchanged(() => api(path, { method }), 404, "UNSUPPORTED_VERSION");
    expect(error.message).toContain(path);
  });
});
