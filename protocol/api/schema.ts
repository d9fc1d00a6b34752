/**
 * How the HTTP contract is declared: zod schemas that carry Kafka's error codes, and route
 * declarations shaped like @hono/zod-openapi's `RouteConfig`.
 *
 * Every route of the API is declared once in this folder (path, query, headers, body, and every
 * answer with its status). The worker validates requests with these schemas and generates its
 * OpenAPI 3.1 document from them; the client infers its request and answer types from them. This
 * module is runtime-free (zod only), so it runs in workerd, browsers and Node.
 *
 * A schema may name the Kafka error code its failures answer with (`coded`); a failure deeper in
 * a value answers with the code of the nearest coded schema on its path, INVALID_REQUEST when none.
 *
 * @example
 * const Body = z.strictObject({ sessionTimeoutMs: coded(z.int().min(1000), "INVALID_SESSION_TIMEOUT") });
 * parse(Body, { sessionTimeoutMs: 5 }); // throws EdgelogError INVALID_SESSION_TIMEOUT
 */
import { z } from "zod";
import { ERROR_CODES, EdgelogError, type ErrorCode } from "../errors";

type Issue = z.core.$ZodIssue;
type Coder = ErrorCode | ((issue: Issue) => ErrorCode);

const CODES = new WeakMap<z.ZodType, Coder>();

/**
 * Marks `schema` so that input failing it answers `code` (or the code `code(issue)` picks, e.g.
 * RECORD_LIST_TOO_LARGE for an array that is too long and INVALID_REQUEST otherwise).
 */
export function coded<T extends z.ZodType>(schema: T, code: Coder): T {
  CODES.set(schema, code);
  return schema;
}

/** The schemas a value at `path` passes through, outermost first (wrappers unwrapped). */
function schemasAlong(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  const out: z.ZodType[] = [];
  let current: z.ZodType | undefined = root;
  let at = 0;
  while (current) {
    out.push(current);
    const def = current._zod.def as unknown as Record<string, unknown> & { type: string };
    if (
      def.type === "optional" ||
      def.type === "nullable" ||
      def.type === "default" ||
      def.type === "prefault" ||
      def.type === "readonly" ||
      def.type === "catch"
    ) {
      current = def.innerType as z.ZodType;
      continue;
    }
    if (def.type === "pipe") {
      current = def.in as z.ZodType;
      continue;
    }
    if (at >= path.length) break;
    const step = path[at++];
    if (def.type === "object") current = (def.shape as Record<PropertyKey, z.ZodType>)[step];
    else if (def.type === "array") current = def.element as z.ZodType;
    else if (def.type === "record") current = def.valueType as z.ZodType;
    else current = undefined;
  }
  return out;
}

/** The Kafka error code for a validation issue under `root`. */
export function codeOf(root: z.ZodType, issue: Issue): ErrorCode {
  const along = schemasAlong(root, issue.path);
  for (let i = along.length - 1; i >= 0; i--) {
    const coder = CODES.get(along[i]);
    if (coder) return typeof coder === "function" ? coder(issue) : coder;
  }
  return "INVALID_REQUEST";
}

/** "records[3].key" for ["records", 3, "key"]. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/** The EdgelogError for a failed parse: the first issue's code, where and what. */
export function refusal(root: z.ZodType, error: z.ZodError, where?: string): EdgelogError {
  const issue = error.issues[0];
  const at = pathText(issue.path);
  const place = [where, at].filter(Boolean).join(" ");
  return new EdgelogError(codeOf(root, issue), place ? `${place}: ${issue.message}` : issue.message);
}

/**
 * Parses `value` with `schema`, or throws the coded EdgelogError of its first issue.
 *
 * @example
 * const topic = parse(TopicName, "a/b"); // throws INVALID_TOPIC_EXCEPTION
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where?: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw refusal(schema, result.error, where);
  return result.data;
}

/** A safe integer (what JSON numbers and decimal query values may carry here). */
export const int = () => z.int();

/** The JSON body of every error answer. */
export const ErrorBody = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      retriable: z.boolean(),
    }),
    throttleTimeMs: z.int().min(0).optional().meta({ description: "THROTTLING_QUOTA_EXCEEDED: wait this long (Kafka's throttle_time_ms)" }),
  })
  .meta({ id: "Error", description: "Every error answer: a Kafka error code, a message, and whether a retry may succeed" });

/** JSON content of a schema, as OpenAPI writes it. */
export const json = <T extends z.ZodType>(schema: T) => ({ "application/json": { schema } }) as const;

/** An answer with a JSON body. */
export const answer = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: json(schema) }) as const;

const error = (description: string) => answer(description, ErrorBody);

/**
 * The error answers of a route: 400, 401 (with auth on), 404, 409, 413, 429 and 5XX, with the
 * codes the route names for 409 and 413.
 */
export function errors(extra: { 409?: string; 413?: string } = {}) {
  return {
    400: error("Malformed or invalid input (INVALID_REQUEST or a more precise code); nothing was applied"),
    401: error("SASL_AUTHENTICATION_FAILED: a credential that is missing, malformed, wrong, expired, not yet valid or revoked (auth on)"),
    403: error(
      "TOPIC_, GROUP_, CLUSTER_ or TRANSACTIONAL_ID_AUTHORIZATION_FAILED: no ACL allows the operation (an unknown topic answers the same); or POLICY_VIOLATION: a request from an origin not in EDGELOG_CORS_ORIGINS. Nothing was applied",
    ),
    404: error("UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_MEMBER_ID, or UNSUPPORTED_VERSION (no such route)"),
    409: error(extra[409] ?? "A conflict with the current state; nothing was applied"),
    413: error(extra[413] ?? "RECORD_LIST_TOO_LARGE: the body is larger than the route accepts"),
    429: error("THROTTLING_QUOTA_EXCEEDED: over a quota (Retry-After and throttleTimeMs say how long to wait), or overloaded"),
    "5XX": error("The outcome is unknown (retriable: true) or the server failed"),
  } as const;
}

/** What a route declares: the shape @hono/zod-openapi's `createRoute` takes, plus body limits. */
export interface ApiRoute {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: /v1/topics/{topic}. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  request?: {
    params?: z.ZodObject;
    query?: z.ZodObject;
    headers?: z.ZodObject;
    body?: { required?: boolean; description?: string; content: Record<string, { schema: z.ZodType }> };
  };
  responses: Record<string | number, { description: string; content?: Record<string, { schema: z.ZodType }> }>;
  /** The largest body the route reads (bytes); an empty body is `{}` when the body is not required. */
  bodyLimit?: number;
}

/** Declares a route (an identity function that keeps the literal types for inference). */
export const route = <const R extends ApiRoute>(r: R): R => r;

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type JsonBodyOf<R extends ApiRoute> = NonNullable<R["request"]>["body"] extends { content: { "application/json": { schema: infer S } } }
  ? Out<S>
  : undefined;

/** What a route's handler receives once its request was validated. */
export interface RouteInput<R extends ApiRoute> {
  params: Out<NonNullable<R["request"]>["params"]>;
  query: Out<NonNullable<R["request"]>["query"]>;
  headers: Out<NonNullable<R["request"]>["headers"]>;
  body: JsonBodyOf<R>;
  /** The body's bytes as received, when the route has one (JSON: for digests; binary: the body itself). */
  bytes?: Uint8Array;
}

/** The JSON answer of a route for a status, e.g. `Answer<typeof joinGroup, 200>`. */
export type Answer<R extends ApiRoute, S extends keyof R["responses"]> = R["responses"][S] extends {
  content: { "application/json": { schema: infer T } };
}
  ? Out<T>
  : never;

/** What a client sends as a route's JSON body (before defaults apply). */
export type RequestBody<R extends ApiRoute> = NonNullable<R["request"]>["body"] extends {
  content: { "application/json": { schema: infer S } };
}
  ? S extends z.ZodType
    ? z.input<S>
    : never
  : never;
