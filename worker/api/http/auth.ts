/**
 * Bearer-token auth for every /v1 route, on as soon as EDGELOG_TOKEN is set (a secret in
 * production: `wrangler secret put EDGELOG_TOKEN`). Unset or empty means local development.
 * WebSocket upgrades may pass the token as `?access_token=` (browsers cannot set the header).
 * The comparison is constant-time, so the token cannot be guessed byte by byte from timings.
 */
import type { MiddlewareHandler } from "hono";
import { EdgelogError } from "../../../protocol/errors";
import type { Env } from "../../env";

const encoder = new TextEncoder();

async function sameSecret(given: string, expected: string): Promise<boolean> {
  // Hash both to one length first: timingSafeEqual needs equal lengths, and hashing hides the length.
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return (crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean }).timingSafeEqual(a, b);
}

export const auth: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const expected = c.env.EDGELOG_TOKEN;
  if (expected) {
    const header = c.req.header("authorization") ?? "";
    // Browsers cannot set headers on a WebSocket: an upgrade may carry ?access_token= instead.
    const queryToken = c.req.header("upgrade")?.toLowerCase() === "websocket" ? c.req.query("access_token") : undefined;
    const given = /^Bearer (.+)$/i.exec(header)?.[1] ?? queryToken;
    if (given === undefined || !(await sameSecret(given, expected))) {
      throw new EdgelogError("SASL_AUTHENTICATION_FAILED", "missing or wrong credentials: send Authorization: Bearer <token>");
    }
  }
  await next();
};
