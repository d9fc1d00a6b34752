/**
 * The access configuration, read from the worker's environment (wrangler.toml [vars] or secrets):
 *
 *   EDGELOG_TOKEN            the bootstrap superuser's bearer token (principal User:admin)
 *   EDGELOG_SUPERUSERS       more superuser principals, comma-separated ("User:alice,User:ops")
 *   EDGELOG_JWT_SECRET       HS256 key for short-lived tokens
 *   EDGELOG_JWT_PUBLIC_KEYS  ES256/RS256 public keys: a JWKS ({"keys": [...]}) or an array of JWKs, each with a kid
 *   EDGELOG_JWKS_URL         a JWKS to fetch (cached for JWKS_TTL_MS)
 *   EDGELOG_JWT_AUDIENCE     when set, a token's aud must include it
 *   EDGELOG_JWT_ISSUER       when set, a token's iss must equal it
 *   EDGELOG_CORS_ORIGINS     origins allowed cross-origin, comma-separated
 *
 * Auth is on as soon as any credential is configured (EDGELOG_TOKEN or a JWT verifier). With
 * none, the worker is open: local development, every request is the superuser User:ANONYMOUS.
 */
import type { HonoJsonWebKey as JWK } from "hono/utils/jwt/jws";
import type { Env } from "../env";

/** The principal EDGELOG_TOKEN authenticates as. */
export const BOOTSTRAP_PRINCIPAL = "User:admin";
/** Every request's principal when auth is off. */
export const ANONYMOUS = "User:ANONYMOUS";

export interface AccessConfig {
  on: boolean;
  token?: string;
  superusers: ReadonlySet<string>;
  jwtSecret?: string;
  publicKeys: JWK[];
  jwksUrl?: string;
  audience?: string;
  issuer?: string;
  corsOrigins: readonly string[];
}

const list = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function parseKeys(text: string | undefined): JWK[] {
  if (!text?.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('EDGELOG_JWT_PUBLIC_KEYS is not JSON: give a JWKS ({"keys": [...]}) or an array of JWKs');
  }
  const keys = Array.isArray(parsed) ? parsed : (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new Error('EDGELOG_JWT_PUBLIC_KEYS must be a JWKS ({"keys": [...]}) or an array of JWKs');
  return keys as JWK[];
}

const configs = new WeakMap<object, AccessConfig>();

/** The environment's access configuration (parsed once per env object). */
export function accessConfig(env: Env): AccessConfig {
  let config = configs.get(env);
  if (!config) {
    const publicKeys = parseKeys(env.EDGELOG_JWT_PUBLIC_KEYS);
    const token = env.EDGELOG_TOKEN || undefined;
    const jwtSecret = env.EDGELOG_JWT_SECRET || undefined;
    const jwksUrl = env.EDGELOG_JWKS_URL || undefined;
    config = {
      on: Boolean(token || jwtSecret || jwksUrl || publicKeys.length > 0),
      token,
      superusers: new Set([BOOTSTRAP_PRINCIPAL, ...list(env.EDGELOG_SUPERUSERS)]),
      jwtSecret,
      publicKeys,
      jwksUrl,
      audience: env.EDGELOG_JWT_AUDIENCE || undefined,
      issuer: env.EDGELOG_JWT_ISSUER || undefined,
      corsOrigins: list(env.EDGELOG_CORS_ORIGINS),
    };
    configs.set(env, config);
  }
  return config;
}
