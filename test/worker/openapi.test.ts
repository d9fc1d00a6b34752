/**
 * The OpenAPI document served at /v1/openapi.json describes exactly the routes the app serves,
 * and its error codes are the error table's.
 */
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../protocol/errors";
import { createApp } from "../../worker/api/app";
import { api } from "./helpers";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface Operation {
  parameters?: { name: string; in: string }[];
  responses?: Record<string, unknown>;
}
type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & { parameters?: { name: string; in: string }[] };
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, any> };
}

async function served(): Promise<Document> {
  const res = await api("/v1/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type") ?? "").toContain("application/json");
  return (await res.json()) as Document;
}

/** "METHOD /path/{param}" for every route handler of the app (middleware left out). */
function appOperations(): string[] {
  const ops = createApp()
    .routes.filter((r) => r.method !== "ALL")
    .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`);
  return [...new Set(ops)].sort();
}

function documentedOperations(doc: Document): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document with a title and version", async () => {
    const doc = await served();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: "edgelog", version: expect.any(String) });
  });

  it("documents every route the app serves, with its method", async () => {
    const documented = new Set(documentedOperations(await served()));
    // "/" and "/docs" are pages about the API, not routes of it.
    const missing = appOperations().filter((op) => op !== "GET /" && op !== "GET /docs" && !documented.has(op));
    expect(missing).toEqual([]);
  });

  it("documents no route the app does not serve", async () => {
    const servedOps = new Set(appOperations());
    const extra = documentedOperations(await served()).filter((op) => !servedOps.has(op));
    expect(extra).toEqual([]);
  });

  it("the route list it is checked against is not empty (the app's routes are read correctly)", () => {
    const ops = appOperations();
    expect(ops).toContain("POST /v1/topics");
    expect(ops).toContain("GET /v1/topics/{topic}/partitions/{partition}/records");
    expect(ops.length).toBeGreaterThanOrEqual(12);
  });

  it("declares every path parameter of every operation, and every operation has responses", async () => {
    const doc = await served();
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const declared = [...(item.parameters ?? []), ...(op.parameters ?? [])].filter((p) => p.in === "path").map((p) => p.name);
        expect(declared.sort(), `${method.toUpperCase()} ${path}`).toEqual([...names].sort());
        expect(Object.keys(op.responses ?? {}).length, `${method.toUpperCase()} ${path}`).toBeGreaterThan(0);
      }
    }
  });

  it("every $ref points at a schema the document defines", async () => {
    const doc = await served();
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of new Set(refs)) expect(doc.components.schemas, name).toHaveProperty([name]);
  });

  it("every JSON request body is documented as closed (additionalProperties: false), as the server refuses unknown fields", async () => {
    const doc = await served();
    let bodies = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const declared = (
          item[method] as
            | { requestBody?: { content: Record<string, { schema: { $ref?: string; additionalProperties?: unknown } }> } }
            | undefined
        )?.requestBody?.content["application/json"]?.schema;
        if (!declared) continue;
        // A named schema (AclBinding) is a reference to its component.
        const schema = declared.$ref ? doc.components.schemas[declared.$ref.split("/").pop()!] : declared;
        bodies++;
        expect(schema.additionalProperties, `${method.toUpperCase()} ${path}`).toBe(false);
      }
    }
    expect(bodies).toBeGreaterThanOrEqual(5);
  });

  it("documented unknown request fields are really refused: an extra field is 400 INVALID_REQUEST on every JSON body route", async () => {
    const name = `openapi-extra-${Date.now()}`;
    expect((await api("/v1/topics", { method: "POST", json: { name } })).status).toBe(201);
    const cases: [string, string, unknown][] = [
      ["POST", "/v1/topics", { name: `${name}-x`, extra: 1 }],
      ["POST", `/v1/topics/${name}/partitions`, { count: 2, extra: 1 }],
      ["PATCH", `/v1/topics/${name}/config`, { config: {}, extra: 1 }],
      ["POST", `/v1/topics/${name}/records`, { records: [{ value: 1 }], extra: 1 }],
      ["POST", "/v1/producers", { extra: 1 }],
    ];
    for (const [method, path, json] of cases) {
      const res = await api(path, { method, json });
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("INVALID_REQUEST");
    }
  });

  it("the Error schema's code enum is exactly the error table's codes", async () => {
    const doc = await served();
    const error = doc.components.schemas.Error;
    expect(error.required).toEqual(["error"]);
    expect(error.properties.error.required).toEqual(["code", "message", "retriable"]);
    expect(error.properties.error.properties.code.enum).toEqual(Object.keys(ERROR_CODES));
  });

  it("the TopicConfig schema names exactly the config keys a new topic reports", async () => {
    const doc = await served();
    const name = `openapi-${Date.now()}`;
    const res = await api("/v1/topics", { method: "POST", json: { name } });
    expect(res.status).toBe(201);
    const { config } = (await res.json()) as { config: Record<string, unknown> };
    const schema = doc.components.schemas.TopicConfig.properties as Record<string, { default: unknown }>;
    expect(Object.keys(schema).sort()).toEqual(Object.keys(config).sort());
    for (const [key, value] of Object.entries(config)) expect(schema[key].default, key).toEqual(value);
  });
});

describe("GET /docs", () => {
  it("serves the interactive reference (Swagger UI) of /v1/openapi.json", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type") ?? "").toContain("text/html");
    const html = await res.text();
    expect(html).toContain("SwaggerUIBundle");
    expect(html).toContain("/v1/openapi.json");
  });
});
