/**
 * Serving a declared route (protocol/api/): the one place where requests are validated.
 *
 * `serve(app, route, handler)` registers the route's declaration with the app's OpenAPI registry
 * (so the document at /v1/openapi.json is generated from it) and installs a handler that first
 * validates the path, the query, the headers and the JSON body with the route's schemas. A bad
 * request is refused with the Kafka code its schema names before anything is read or changed.
 *
 * Bodies are read by byte count, not by Content-Length or Content-Type (curl's `-d` sends a form
 * type): at most `route.bodyLimit` bytes, strict UTF-8 JSON, an object. Query and path values are
 * text on the wire; where a schema takes an integer, a decimal value is read as one.
 */
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { z } from "zod";
import { type ApiRoute, type RouteInput, parse } from "../../../protocol/api/schema";
import { LIMITS } from "../../../protocol/limits";
import type { Need } from "../../access/authorizer";
import { type AppEnv, audit, authorize } from "./auth";
import { readBody, readJsonObject } from "./body";
import { type QuotaUse, admit } from "./quota";

export type App = OpenAPIHono<AppEnv>;
export type Ctx = Context<AppEnv>;

/**
 * What a route needs, from its validated request: `(input) => [topic(input.params.topic, "Write")]`.
 * Every entry must be allowed; an entry that is a list is allowed when one of its needs is (Kafka's
 * "Create on the cluster or on the topic"). An empty list: any authenticated principal (the
 * handler may filter what it answers).
 */
export type Needs<R extends ApiRoute> = (input: RouteInput<R>) => readonly (Need | readonly Need[])[];

/** How a route is served: what it needs, and whether a success is a change the audit trail records. */
export interface Access<R extends ApiRoute> {
  needs: Needs<R>;
  /** Record each success in __audit (changes to keys, ACLs, quotas, topics and groups). */
  audit?: boolean;
  /** Which byte quota the route's data counts against (quota.ts); every route counts as a request. */
  quota?: QuotaUse;
}

const DECIMAL = /^-?\d{1,16}$/;

/** Whether a (possibly wrapped) schema accepts a number, so a decimal query value is one. */
function acceptsNumber(schema: z.ZodType): boolean {
  const def = schema._zod.def as unknown as { type: string; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
  if (def.type === "number" || def.type === "int") return true;
  if (def.innerType) return acceptsNumber(def.innerType);
  if (def.type === "pipe" && def.in) return acceptsNumber(def.in);
  if (def.type === "union" && def.options) return def.options.some(acceptsNumber);
  return false;
}

/** The fields of each path, query or header schema that take numbers, found once per schema. */
const numericFields = new WeakMap<z.ZodObject, ReadonlySet<string>>();

function numeric(schema: z.ZodObject): ReadonlySet<string> {
  let fields = numericFields.get(schema);
  if (!fields) {
    fields = new Set(
      Object.entries(schema.shape as Record<string, z.ZodType>)
        .filter(([, field]) => acceptsNumber(field))
        .map(([name]) => name),
    );
    numericFields.set(schema, fields);
  }
  return fields;
}

/**
 * Text values (path, query, headers) as the schema wants them: where a field takes a number, a
 * decimal value is that number and an empty one is absent (`?offset=` is the default offset).
 */
function fromText(schema: z.ZodObject, raw: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const numbers = numeric(schema);
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (numbers.has(name)) {
      if (value === "") continue;
      out[name] = DECIMAL.test(value) ? Number(value) : value;
    } else out[name] = value;
  }
  return out;
}

/** Validates a request against its route: params, query, headers, then the JSON body. */
export async function validate<R extends ApiRoute>(c: Ctx, route: R): Promise<RouteInput<R>> {
  const request = route.request ?? {};
  const params = request.params ? parse(request.params, fromText(request.params, c.req.param() as Record<string, string>)) : undefined;
  const query = request.query ? parse(request.query, fromText(request.query, c.req.query())) : undefined;
  let headers: unknown;
  if (request.headers) {
    const raw: Record<string, string | undefined> = {};
    for (const name of Object.keys(request.headers.shape)) raw[name] = c.req.header(name);
    headers = parse(request.headers, fromText(request.headers, raw));
  }
  let body: unknown;
  let bytes: Uint8Array | undefined;
  const limit = route.bodyLimit ?? LIMITS.adminBodyBytes;
  const schema = request.body?.content["application/json"]?.schema;
  if (schema) {
    const read = await readJsonObject(c.req.raw, limit, { optional: request.body?.required === false });
    body = parse(schema, read.body);
    bytes = read.bytes;
  } else if (request.body) {
    bytes = await readBody(c.req.raw, limit); // a binary body (record batches), checked by its handler
  }
  return { params, query, headers, body, bytes } as RouteInput<R>;
}

/**
 * Serves `route` on `app`: documented in the OpenAPI registry, validated, authorized (auth.ts),
 * admitted by the principal's quotas (quota.ts), then `handler`; a success of an audited route is
 * recorded in __audit.
 *
 * @example
 * serve(app, topics.describeTopic, { needs: ({ params }) => [topic(params.topic, "Describe")] }, async (c, { params }) =>
 *   c.json(await describe(c.env, params.topic)),
 * );
 */
export function serve<R extends ApiRoute>(
  app: App,
  route: R,
  access: Access<R>,
  handler: (c: Ctx, input: RouteInput<R>) => Response | Promise<Response>,
): void {
  const { bodyLimit: _limit, ...declaration } = route;
  app.openAPIRegistry.registerPath(declaration as unknown as RouteConfig);
  const path = route.path.replace(/\{([^}]+)\}/g, ":$1");
  const action = `${route.method.toUpperCase()} ${route.path}`;
  app.on(route.method.toUpperCase(), path, async (c) => {
    const input = await validate(c, route);
    await authorize(c, action, access.needs(input));
    await admit(c, access.quota, input.bytes?.byteLength ?? 0);
    const res = await handler(c, input);
    if (access.audit && res.status < 400) {
      audit(c, action, "ok", undefined, { params: input.params ?? null, body: input.body ?? null }, res.status);
    }
    return res;
  });
}
