/**
 * The contract checker cannot pass vacuously: against a small document, an undocumented path,
 * method, status or media type, and a body that breaks the schema (also through a $ref into
 * #/components/schemas), each produce a violation, and conforming answers produce none.
 * The last tests prove the fetch wrapper is really in place: answers from a local server are
 * checked against that server's own document.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContractChecker, contractMode, dedupe, type Answer, type Violation } from "../support/contract";
import { contractRecorder } from "../support/contract-setup.node";

const doc = {
  openapi: "3.1.0",
  info: { title: "fake", version: "1" },
  components: {
    schemas: {
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code"],
            properties: { code: { enum: ["NOPE", "UNSUPPORTED_VERSION", "SASL_AUTHENTICATION_FAILED", "POLICY_VIOLATION"] } },
          },
        },
      },
      Topic: {
        type: "object",
        required: ["name", "partitions"],
        properties: { name: { type: "string" }, partitions: { type: "integer", minimum: 1 } },
      },
    },
  },
  paths: {
    "/v1/topics": {
      get: {
        responses: {
          "200": {
            description: "ok",
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  required: ["topics"],
                  properties: { topics: { type: "array", items: { $ref: "#/components/schemas/Topic" } } },
                },
              },
            },
          },
        },
      },
    },
    "/v1/topics/{topic}": {
      get: {
        responses: {
          "200": { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Topic" } } } },
          "4XX": { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
      },
      delete: {
        responses: {
          "204": { description: "gone" },
          default: { description: "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
      },
    },
    "/v1/topics/special": {
      get: { responses: { "200": { description: "ok", content: { "application/json": { schema: { const: "special" } } } } } },
    },
    "/v1/topics/{topic}/batches": {
      get: {
        responses: {
          "200": {
            description: "bytes",
            content: { "application/vnd.kafka.record-batch.v2": { schema: { type: "string", format: "binary" } } },
          },
        },
      },
    },
    "/v1/topics/{topic}/subscribe": { get: { responses: { "101": { description: "upgrade" } } } },
    "/docs": { get: { responses: { "200": { description: "page", content: { "text/html": {} } } } } },
  },
};

const json = (method: string, path: string, status: number, body: unknown): Answer => ({
  method,
  path,
  status,
  contentType: "application/json; charset=UTF-8",
  body: JSON.stringify(body),
});

describe("the contract checker, against a fake document", () => {
  const checker = new ContractChecker(doc);

  it("finds nothing wrong with answers the document describes (exact status, a range, default, $ref, binary, 101, empty 204)", () => {
    const good: Answer[] = [
      json("GET", "/v1/topics", 200, { topics: [{ name: "a", partitions: 1 }] }),
      json("GET", "/v1/topics/a", 200, { name: "a", partitions: 3 }),
      json("GET", "/v1/topics/a", 404, { error: { code: "NOPE" } }),
      json("DELETE", "/v1/topics/a", 500, { error: { code: "NOPE" } }),
      { method: "DELETE", path: "/v1/topics/a", status: 204, contentType: null, body: "" },
      json("GET", "/v1/topics/special", 200, "special"),
      {
        method: "GET",
        path: "/v1/topics/a/batches",
        status: 200,
        contentType: "application/vnd.kafka.record-batch.v2",
        body: "<61 bytes>",
      },
      { method: "GET", path: "/v1/topics/a/subscribe", status: 101, contentType: null },
      { method: "GET", path: "/docs", status: 200, contentType: "text/html", body: "<html></html>" },
    ];
    for (const answer of good) expect(checker.check(answer), `${answer.method} ${answer.path} ${answer.status}`).toBeNull();
  });

  it("reports a path the document has no template for", () => {
    expect(checker.check(json("GET", "/v1/nope", 200, {}))).toMatchObject({
      problem: "no path in the document matches",
      path: "/v1/nope",
      status: 200,
    });
    expect(checker.check(json("GET", "/v1/topics/a/b/c", 200, {}))?.problem).toBe("no path in the document matches");
  });

  it("lets a path or method outside the document get only the Error answer for no route (404 UNSUPPORTED_VERSION) or for no credential (401)", () => {
    expect(checker.check(json("GET", "/v1/nope", 404, { error: { code: "UNSUPPORTED_VERSION" } }))).toBeNull();
    expect(checker.check(json("POST", "/v1/topics", 404, { error: { code: "UNSUPPORTED_VERSION" } }))).toBeNull();
    expect(checker.check(json("GET", "/v1/secret", 401, { error: { code: "SASL_AUTHENTICATION_FAILED" } }))).toBeNull();
    expect(checker.check(json("GET", "/v1/nope", 404, { error: { code: "NOPE" } }))?.problem).toBe("no path in the document matches");
    expect(checker.check(json("GET", "/v1/nope", 404, { error: "UNSUPPORTED_VERSION" }))?.problem).toBe("no path in the document matches");
    expect(checker.check(json("POST", "/v1/topics", 401, { error: { code: "UNSUPPORTED_VERSION" } }))?.problem).toBe(
      "no POST operation for this path",
    );
  });

  it("lets the cross-origin rules answer before routing: a 204 preflight with no body, or 403 POLICY_VIOLATION", () => {
    const preflight: Answer = { method: "OPTIONS", path: "/v1/topics", status: 204, contentType: null, body: "" };
    expect(checker.check(preflight)).toBeNull();
    expect(checker.check({ ...preflight, path: "/v1/nope" })).toBeNull();
    expect(checker.check(json("OPTIONS", "/v1/topics", 403, { error: { code: "POLICY_VIOLATION" } }))).toBeNull();
    expect(checker.check(json("GET", "/v1/secret", 403, { error: { code: "POLICY_VIOLATION" } }))).toBeNull();
    // Only those: an OPTIONS answer with a body, another status, or another 403 code is undescribed.
    expect(checker.check(json("OPTIONS", "/v1/topics", 200, {}))?.problem).toBe("no OPTIONS operation for this path");
    expect(checker.check({ ...preflight, status: 200 })?.problem).toBe("no OPTIONS operation for this path");
    expect(checker.check({ ...preflight, method: "GET", path: "/v1/nope" })?.problem).toBe("no path in the document matches");
    expect(checker.check(json("GET", "/v1/secret", 403, { error: { code: "NOPE" } }))?.problem).toBe("no path in the document matches");
  });

  it("reports a method the path has no operation for", () => {
    expect(checker.check(json("POST", "/v1/topics", 201, {}))).toMatchObject({
      route: "/v1/topics",
      problem: "no POST operation for this path",
    });
  });

  it("reports a status the operation has no response for (no range, no default)", () => {
    const v = checker.check(json("GET", "/v1/topics", 404, { error: { code: "NOPE" } }));
    expect(v?.problem).toMatch(/^no response for status 404/);
    expect(
      checker.check({ method: "GET", path: "/v1/topics/a/subscribe", status: 200, contentType: "text/plain", body: "" })?.problem,
    ).toMatch(/^no response for status 200/);
  });

  it("reports a body that fails the schema, also through a $ref, and names the failing location", () => {
    const missing = checker.check(json("GET", "/v1/topics/a", 200, { name: "a" }));
    expect(missing?.problem).toBe("body fails the schema of response 200 application/json");
    expect(missing?.errors.join("\n")).toContain("partitions");
    const nested = checker.check(json("GET", "/v1/topics", 200, { topics: [{ name: "a", partitions: 0 }] }));
    expect(nested?.errors.join("\n")).toContain("/topics/0/partitions");
    expect(checker.check(json("GET", "/v1/topics/a", 404, { error: { code: "OTHER" } }))?.problem).toBe(
      "body fails the schema of response 4XX application/json",
    );
  });

  it("reports a media type the response does not document, a JSON body where none is documented, and a body that is not JSON", () => {
    expect(checker.check({ method: "GET", path: "/v1/topics/a", status: 200, contentType: "text/plain", body: "a" })?.problem).toMatch(
      /content type text\/plain not documented/,
    );
    expect(checker.check(json("DELETE", "/v1/topics/a", 204, { deleted: true }))?.problem).toMatch(
      /content type application\/json not documented for response 204/,
    );
    expect(
      checker.check({ method: "GET", path: "/v1/topics/a", status: 200, contentType: "application/json", body: "{" })?.problem,
    ).toMatch(/not JSON/);
  });

  it("prefers a concrete path to a template that also matches", () => {
    expect(checker.route("/v1/topics/special")).toBe("/v1/topics/special");
    expect(checker.check(json("GET", "/v1/topics/special", 200, { name: "special", partitions: 1 }))?.route).toBe("/v1/topics/special");
  });

  it("keeps the first 500 characters of the body, and deduplicates by route, status and problem", () => {
    const long = checker.check(json("GET", "/v1/nope", 200, { x: "y".repeat(1000) }))!;
    expect(long.body.length).toBe(500);
    const a = checker.check(json("GET", "/v1/topics/a", 200, { name: "a" }))!;
    const b = checker.check(json("GET", "/v1/topics/b", 200, { name: "b" }))!;
    expect(dedupe([a, b, long])).toHaveLength(2);
  });

  it("is strict unless told exactly 'report'", () => {
    expect(contractMode(undefined)).toBe("strict");
    expect(contractMode("reprot")).toBe("strict");
    expect(contractMode("report")).toBe("report");
  });

  it("refuses something that is not an OpenAPI document, rather than checking nothing", () => {
    expect(() => new ContractChecker({ hello: "world" })).toThrow(/not an OpenAPI document/);
  });
});

describe("the fetch wrapper of the node project", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/v1/openapi.json") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(doc));
      if (req.url === "/v1/topics/a") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ name: "a" }));
      if (req.url === "/v1/topics") return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ topics: [] }));
      res.writeHead(418, { "content-type": "text/plain" }).end("teapot");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("checks answers from a local server against that server's document, and the test can still read the body", async () => {
    const before = contractRecorder.checked;
    const ok = await fetch(`${base}/v1/topics`);
    expect(await ok.json()).toEqual({ topics: [] });
    const bad = await fetch(`${base}/v1/topics/a`);
    expect(await bad.json()).toEqual({ name: "a" });
    await fetch(`${base}/v1/teapot`, { method: "POST" }).then((r) => r.text());
    // Not a /v1 path and not in the document: not checked.
    await fetch(`${base}/index.html`).then((r) => r.text());
    expect(contractRecorder.checked - before).toBe(3);
    // Taken out here, so this test's own afterEach does not fail it for answers it asked for.
    const violations = await contractRecorder.drain();
    expect(violations.map((v: Violation) => `${v.method} ${v.path} ${v.status}: ${v.problem}`)).toEqual([
      "GET /v1/topics/a 200: body fails the schema of response 200 application/json",
      "POST /v1/teapot 418: no path in the document matches",
    ]);
  });
});
