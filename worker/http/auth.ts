/**
 * Bearer-token auth for every /v1 route, on as soon as EDGELOG_TOKEN is set (a secret in
 * production: `wrangler secret put EDGELOG_TOKEN`). Unset or empty means local development.
 * The comparison is constant-time, so the token cannot be guessed byte by byte from timings.
 */
import type { MiddlewareHandler } from "hono";
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";

const encoder = new TextEncoder();

async function sameSecret(given: string, expected: string): Promise<boolean> {
  // Hash both to one length first: timingSafeEqual needs equal lengths, and hashing hides the length.
  const [a, b] = await Promise.all([crypto.subtle.digest("SHA-256", encoder.encode(given)), crypto.subtle.digest("SHA-256", encoder.encode(expected))]);
  return (crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean }).timingSafeEqual(a, b);
}

export const auth: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const expected = c.env.EDGELOG_TOKEN;
  if (expected) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match || !(await sameSecret(match[1], expected))) {
      throw new EdgelogError("SASL_AUTHENTICATION_FAILED", "missing or wrong credentials: send Authorization: Bearer <token>");
    }
  }
  await next();
};
