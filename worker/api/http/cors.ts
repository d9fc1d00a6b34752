/**
 * Cross-origin access to /v1 (hono/cors), and the Origin check of WebSocket upgrades.
 *
 * EDGELOG_CORS_ORIGINS lists the origins ("https://app.example.com", "http://127.0.0.1:5173")
 * whose pages may call the API. Nothing cross-origin is allowed unless it is listed, whether auth
 * is on or off (an open local worker is not open to every page the developer visits). A request
 * is judged by its Origin header, before authentication:
 *
 *   - no Origin (curl, a device, Node), or the worker's own origin (the console page at /, which
 *     loads /edgelog.js from the worker itself): passes untouched, without CORS headers. A page is
 *     also same-origin when its browser says so (Sec-Fetch-Site: same-origin, a header no page can
 *     set): behind a proxy that rewrites the URL, or a same-origin POST whose referrer policy made
 *     its Origin "null";
 *   - a listed origin: a preflight (OPTIONS) answers 204 with the allowed methods and headers and
 *     no credentials needed; any other request goes on to auth and its route, and its answer
 *     (errors included) carries Access-Control-Allow-Origin and the exposed headers;
 *   - any other origin: 403 POLICY_VIOLATION (JSON, Kafka's code), preflight or not, and nothing
 *     else happens: no credential is looked at, no route runs. A browser refuses the preflight
 *     either way; refusing the request itself also stops the "simple" requests browsers send
 *     without a preflight (a form-encoded POST), which the body reader would otherwise accept.
 *
 * WebSocket upgrades are not covered by CORS (a browser opens a socket to any origin and sends its
 * own Origin): the same rule is applied to them, so a page from an unlisted origin cannot open a
 * subscription with a token it got hold of. A listed origin's upgrade goes on to auth untouched
 * (no CORS headers on a 101). Credentials are bearer tokens, never cookies, so no
 * Access-Control-Allow-Credentials is sent.
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { EdgelogError } from "../../../protocol/errors";
import { HEADERS } from "../../../protocol/wire";
import { type AccessConfig, accessConfig } from "../../access/config";
import type { Env } from "../../env";
import { type AppEnv, refuse } from "./auth";

/** The request headers a cross-origin page may send (the client's HttpTransport sends these). */
export const CORS_ALLOW_HEADERS = [
  HEADERS.authorization,
  HEADERS.contentType,
  HEADERS.idempotencyKey,
  HEADERS.transactionalId,
  HEADERS.producerId,
  HEADERS.producerEpoch,
] as const;
/** The response headers a cross-origin page may read: the fetch answers' offsets, and Retry-After. */
export const CORS_EXPOSE_HEADERS = [
  HEADERS.highWatermark,
  HEADERS.logStartOffset,
  HEADERS.nextOffset,
  HEADERS.replica,
  HEADERS.lastStableOffset,
  HEADERS.abortedTransactions,
  "retry-after",
] as const;
/** The methods the API's routes use. */
export const CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** How long a browser may cache a preflight's answer (seconds). */
export const CORS_MAX_AGE_S = 600;

/** An origin as a browser serializes it ("https://a.example", no trailing slash, no default port). */
function normalize(origin: string): string {
  try {
    const url = new URL(origin);
    return url.origin === "null" ? origin : url.origin;
  } catch {
    return origin; // "*" or a typo: matches no browser's Origin
  }
}

const allowedSets = new WeakMap<AccessConfig, ReadonlySet<string>>();

/** The configured origins, normalized (once per configuration). */
function allowedOrigins(env: Env): ReadonlySet<string> {
  const config = accessConfig(env);
  let set = allowedSets.get(config);
  if (!set) {
    set = new Set(config.corsOrigins.map(normalize));
    allowedSets.set(config, set);
  }
  return set;
}

/** Whether a page of `origin` may call the worker (listed in EDGELOG_CORS_ORIGINS). */
export function originAllowed(env: Env, origin: string): boolean {
  return allowedOrigins(env).has(origin);
}

const corsHeaders = cors({
  origin: (origin, c) => (originAllowed(c.env as Env, origin) ? origin : null),
  allowMethods: [...CORS_ALLOW_METHODS],
  allowHeaders: [...CORS_ALLOW_HEADERS],
  exposeHeaders: [...CORS_EXPOSE_HEADERS],
  maxAge: CORS_MAX_AGE_S,
});

/** Cross-origin rules for every /v1 request; installed before auth. */
export const crossOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("origin");
  const url = new URL(c.req.url);
  if (origin === undefined || origin === url.origin || c.req.header("sec-fetch-site") === "same-origin") return next();
  const upgrade = c.req.header("upgrade")?.toLowerCase() === "websocket";
  if (!originAllowed(c.env, origin)) {
    const what = upgrade ? "WebSocket upgrade" : c.req.method === "OPTIONS" ? "preflight" : "request";
    const err = new EdgelogError(
      "POLICY_VIOLATION",
      `cross-origin ${what} from ${JSON.stringify(origin)} refused: the origin is not listed in EDGELOG_CORS_ORIGINS`,
    );
    refuse(c, `${c.req.method} ${url.pathname}`, err);
  }
  if (upgrade) return next();
  return corsHeaders(c, next);
};
