/**
 * The contract checker: every answer a test receives from the HTTP API must be one the OpenAPI
 * document describes — an operation for its method and path, a response for its status, a media
 * type for its content type, and (for JSON) a body that validates against that response's schema.
 *
 * Runtime-free (no node: imports, no code generation): the same module runs inside workerd and in
 * Node. @cfworker/json-schema interprets schemas instead of compiling them, which Workers require.
 * The setup files (test/worker/contract-setup.ts, test/support/contract-setup.node.ts) wrap the
 * transports so no test has to call this itself.
 *
 * @example
 * const checker = new ContractChecker(await (await fetch(`${url}/v1/openapi.json`)).json());
 * const violation = checker.check({ method: "GET", path: "/v1/topics", status: 200, contentType: "application/json", body: "{}" });
 */
import { dereference, encodePointer, validate, type Schema } from "@cfworker/json-schema";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
/** The base URI the document is registered under, so `#/components/schemas/X` resolves into it. */
const DOCUMENT_URI = "https://contract.edgelog.test/openapi.json";

interface MediaType {
  schema?: Schema | boolean;
}
interface ResponseObject {
  description?: string;
  content?: Record<string, MediaType>;
}
interface Operation {
  responses?: Record<string, ResponseObject>;
}
export interface OpenApiDocument {
  openapi: string;
  paths?: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  components?: { schemas?: Record<string, Schema> };
  [key: string]: unknown;
}

/** One answer as the test saw it. `body` is undefined when it is not read (a 101 upgrade). */
export interface Answer {
  method: string;
  /** The concrete path, e.g. "/v1/topics/t-1/partitions/0/records" (a query string is ignored). */
  path: string;
  status: number;
  contentType: string | null;
  body?: string;
}

export interface Violation {
  method: string;
  path: string;
  status: number;
  /** The document's path template, when one matched. */
  route?: string;
  problem: string;
  /** The first 500 characters of the body. */
  body: string;
  errors: string[];
}

/** "strict": a violation fails the test that got the answer. "report": a summary at the end instead. */
export type ContractMode = "strict" | "report";

/** Reads the mode; anything but "report" is strict, so a typo cannot switch the check off. */
export function contractMode(value: unknown): ContractMode {
  return value === "report" ? "report" : "strict";
}

interface Route {
  template: string;
  pattern: RegExp;
  literals: number;
}

/**
 * Checks answers against one document. The document is deep-copied, since the validator
 * annotates the schemas it indexes.
 */
export class ContractChecker {
  readonly #doc: OpenApiDocument;
  readonly #routes: Route[];
  readonly #lookup: Record<string, Schema | boolean>;

  constructor(document: unknown) {
    const doc = JSON.parse(JSON.stringify(document)) as OpenApiDocument;
    if (!doc || typeof doc !== "object" || typeof doc.openapi !== "string" || !doc.paths)
      throw new Error("not an OpenAPI document (no openapi/paths)");
    this.#doc = doc;
    // Concrete paths win over templated ones (OpenAPI 3.1, Paths Object): more literal segments first.
    this.#routes = Object.keys(doc.paths)
      .map((template) => ({
        template,
        pattern: templatePattern(template),
        literals: template.split("/").filter((s) => s && !s.includes("{")).length,
      }))
      .sort((a, b) => b.literals - a.literals);
    this.#lookup = indexSchemas(doc);
  }

  /** Whether the checker looks at this path at all: /v1 paths, and any other path the document describes. */
  covers(path: string): boolean {
    return path === "/v1" || path.startsWith("/v1/") || this.#route(path) !== undefined;
  }

  /** The document's template for a concrete path, if any. */
  route(path: string): string | undefined {
    return this.#route(path)?.template;
  }

  /** Answers the violation, or null when the document describes this answer. */
  check(answer: Answer): Violation | null {
    const fail = (problem: string, route?: string, errors: string[] = []): Violation => ({
      method: answer.method.toUpperCase(),
      path: answer.path,
      status: answer.status,
      ...(route ? { route } : {}),
      problem,
      body: (answer.body ?? "").slice(0, 500),
      errors,
    });
    const route = this.#route(answer.path);
    const method = answer.method.toLowerCase() as (typeof METHODS)[number];
    const operation = route ? this.#doc.paths![route.template][method] : undefined;
    if (!route || !operation || !METHODS.includes(method)) {
      // No route: the document's Error answer for "no such route" (404 UNSUPPORTED_VERSION), or a
      // refusal given before any routing (auth's 401, the cross-origin rules' 403 POLICY_VIOLATION)
      // is the only answer it may get; and a CORS preflight (OPTIONS), answered 204 with no body
      // before routing, is described by the Fetch standard, not the document.
      if (this.#isRoutelessError(answer) || isPreflightAnswer(answer)) return null;
      return route ? fail(`no ${method.toUpperCase()} operation for this path`, route.template) : fail("no path in the document matches");
    }
    const key = responseKey(operation.responses ?? {}, answer.status);
    if (!key)
      return fail(
        `no response for status ${answer.status} (documented: ${Object.keys(operation.responses ?? {}).join(", ") || "none"})`,
        route.template,
      );
    if (answer.status === 101 || answer.body === undefined) return null;
    const response = operation.responses![key];
    const mediaType = (answer.contentType ?? "").split(";")[0].trim().toLowerCase();
    if (!mediaType) {
      if (answer.body === "") return null;
      return fail(`a body without content-type (response ${key})`, route.template);
    }
    const content = response.content ?? {};
    const documented = mediaTypeKey(content, mediaType);
    if (!documented) {
      if (answer.body === "" && Object.keys(content).length === 0) return null;
      return fail(
        `content type ${mediaType} not documented for response ${key} (documented: ${Object.keys(content).join(", ") || "no content"})`,
        route.template,
      );
    }
    if (!isJson(mediaType)) return null;
    let body: unknown;
    try {
      body = JSON.parse(answer.body);
    } catch {
      return fail(`body is not JSON although content type is ${mediaType}`, route.template);
    }
    const schema = content[documented].schema;
    if (schema === undefined) return fail(`response ${key} ${documented} has no schema`, route.template);
    const result = validate(body, schema as Schema, "2020-12", this.#lookup, false);
    if (result.valid) return null;
    return fail(
      `body fails the schema of response ${key} ${documented}`,
      route.template,
      result.errors.map((e) => `${e.instanceLocation} ${e.keywordLocation}: ${e.error}`),
    );
  }

  /** A 404 UNSUPPORTED_VERSION, 401 SASL_AUTHENTICATION_FAILED or 403 POLICY_VIOLATION body that is the document's Error schema. */
  #isRoutelessError(answer: Answer): boolean {
    const expected = ROUTELESS_ERRORS[answer.status];
    const schema = this.#doc.components?.schemas?.Error;
    if (!expected || !schema || answer.body === undefined) return false;
    let body: { error?: { code?: unknown } };
    try {
      body = JSON.parse(answer.body);
    } catch {
      return false;
    }
    return body?.error?.code === expected && validate(body, schema as Schema, "2020-12", this.#lookup, false).valid;
  }

  #route(path: string): Route | undefined {
    return this.#routes.find((r) => r.pattern.test(path));
  }
}

/**
 * Registers every component schema and response schema under its JSON pointer in the document,
 * so `$ref: "#/components/schemas/X"` resolves. Each schema is indexed on its own: the document
 * itself is no schema (a response named "default" would be skipped as the `default` keyword).
 */
function indexSchemas(doc: OpenApiDocument): Record<string, Schema | boolean> {
  const base = new URL(DOCUMENT_URI);
  const lookup: Record<string, Schema | boolean> = Object.create(null);
  for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
    dereference(schema, lookup, base, `/components/schemas/${encodePointer(name)}`);
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      for (const [status, response] of Object.entries(item[method]?.responses ?? {})) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (media.schema === undefined) continue;
          dereference(
            media.schema as Schema,
            lookup,
            base,
            ["", "paths", path, method, "responses", status, "content", type, "schema"].map(encodePointer).join("/"),
          );
        }
      }
    }
  }
  return lookup;
}

/** The codes an answer given before routing may carry, by status. */
const ROUTELESS_ERRORS: Record<number, string> = { 401: "SASL_AUTHENTICATION_FAILED", 403: "POLICY_VIOLATION", 404: "UNSUPPORTED_VERSION" };

/** A CORS preflight's answer: OPTIONS, 204, no body (worker/api/http/cors.ts). */
function isPreflightAnswer(answer: Answer): boolean {
  return answer.method.toUpperCase() === "OPTIONS" && answer.status === 204 && (answer.body ?? "") === "";
}

function templatePattern(template: string): RegExp {
  const source = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

/** The response key for a status: exact, then a range ("4XX"), then "default". */
function responseKey(responses: Record<string, unknown>, status: number): string | undefined {
  const exact = String(status);
  if (exact in responses) return exact;
  const range = Object.keys(responses).find((k) => k.toUpperCase() === `${exact[0]}XX`);
  if (range) return range;
  return "default" in responses ? "default" : undefined;
}

/** The content key for a media type: exact, then "type/*", then "*\/*". */
function mediaTypeKey(content: Record<string, unknown>, mediaType: string): string | undefined {
  const keys = Object.keys(content);
  return (
    keys.find((k) => k.toLowerCase() === mediaType) ??
    keys.find((k) => k.toLowerCase() === `${mediaType.split("/")[0]}/*`) ??
    keys.find((k) => k === "*/*")
  );
}

function isJson(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

/** One line per violation, for an assertion message or the summary. */
export function formatViolation(v: Violation): string {
  const lines = [`${v.method} ${v.path} → ${v.status}${v.route ? ` (route ${v.route})` : ""}: ${v.problem}`];
  for (const e of v.errors.slice(0, 10)) lines.push(`    ${e}`);
  if (v.body) lines.push(`    body: ${v.body}`);
  return lines.join("\n");
}

/** The key violations are deduplicated by: route (or path), method, status and problem. */
export function violationKey(v: Violation): string {
  // The validator lists the outermost error first and the failing leaf last: the leaf says what is wrong.
  const leaf = v.errors.length ? ` [${v.errors[v.errors.length - 1].replace(/\/\d+(?=\/|\s|$)/g, "/*")}]` : "";
  return `${v.method} ${v.route ?? v.path} ${v.status}: ${v.problem}${leaf}`;
}

/**
 * Collects violations between drains, and the checkers per document source.
 * A setup file drains it after each test (the test that got the answer fails) and after the file.
 */
export class ContractRecorder {
  readonly mode: ContractMode;
  #pending = new Set<Promise<void>>();
  #violations: Violation[] = [];
  #checkers = new Map<string, Promise<ContractChecker>>();
  /** Answers checked so far (so a test can prove the wrapper is in place). */
  checked = 0;

  constructor(mode: ContractMode) {
    this.mode = mode;
  }

  /** The checker of one document source (an origin), loaded once. A failed load is retried next time. */
  checker(source: string, load: () => Promise<unknown>): Promise<ContractChecker> {
    let checker = this.#checkers.get(source);
    if (!checker) {
      checker = load().then((doc) => new ContractChecker(doc));
      checker.catch(() => this.#checkers.delete(source));
      this.#checkers.set(source, checker);
    }
    return checker;
  }

  /** Tracks a check in progress, so a drain waits for it. */
  track(check: Promise<void>): Promise<void> {
    this.#pending.add(check);
    return check.finally(() => this.#pending.delete(check));
  }

  record(violation: Violation): void {
    this.#violations.push(violation);
  }

  /** Waits for the checks in progress, then answers and forgets the violations collected so far. */
  async drain(): Promise<Violation[]> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    const out = this.#violations;
    this.#violations = [];
    return out;
  }
}

/** Deduplicates violations by violationKey, keeping the first example and a count. */
export function dedupe(violations: Violation[]): { key: string; count: number; example: Violation }[] {
  const map = new Map<string, { key: string; count: number; example: Violation }>();
  for (const v of violations) {
    const key = violationKey(v);
    const entry = map.get(key);
    if (entry) entry.count++;
    else map.set(key, { key, count: 1, example: v });
  }
  return [...map.values()].sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Checks one Response: clones it (the caller still reads the original), reads the clone's body
 * unless it is a 101 upgrade, and records a violation if the document does not describe it.
 * A body that cannot be read (the caller aborted) is no answer and is not checked.
 */
export async function checkResponse(
  recorder: ContractRecorder,
  checker: () => Promise<ContractChecker>,
  method: string,
  url: string,
  res: Response,
): Promise<void> {
  const path = new URL(url).pathname;
  let body: string | undefined;
  if (res.status !== 101) {
    try {
      const bytes = new Uint8Array(await res.clone().arrayBuffer());
      const type = (res.headers.get("content-type") ?? "").toLowerCase();
      // Binary media types are only checked for being documented; their bytes are not shown.
      body =
        bytes.length === 0 || !/json|text|^$/.test(type)
          ? bytes.length
            ? `<${bytes.length} bytes>`
            : ""
          : new TextDecoder().decode(bytes);
    } catch {
      return;
    }
  }
  const v1 = path === "/v1" || path.startsWith("/v1/");
  let c: ContractChecker;
  try {
    c = await checker();
  } catch (error) {
    // Off /v1 the document is only asked whether it describes the path (e.g. /docs); no document, no check.
    if (!v1) return;
    recorder.record({
      method,
      path,
      status: res.status,
      problem: `could not load the OpenAPI document: ${String(error)}`,
      body: (body ?? "").slice(0, 500),
      errors: [],
    });
    return;
  }
  if (!c.covers(path)) return;
  recorder.checked++;
  const violation = c.check({ method, path, status: res.status, contentType: res.headers.get("content-type"), body });
  if (violation) recorder.record(violation);
}
