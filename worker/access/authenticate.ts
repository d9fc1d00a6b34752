/**
 * Who is asking: a bearer credential turned into a Grant (authorizer.ts), or 401.
 *
 *   EDGELOG_TOKEN      the bootstrap superuser, User:admin (compared in constant time)
 *   elk_<id>_<secret>  an API key (snapshot.ts has its SHA-256; compared in constant time)
 *   <JWT>              a short-lived token: HS256 with EDGELOG_JWT_SECRET, ES256/RS256 with a
 *                      configured public key or the JWKS; `sub` names the principal User:<sub>;
 *                      `exp` is required, `nbf` and (when configured) `aud`/`iss` are checked,
 *                      with CLOCK_SKEW_S allowed; an `acl` claim narrows what it may do.
 *
 * Every refusal is 401 SASL_AUTHENTICATION_FAILED with a message that names the reason and never
 * the credential. Signatures are verified with WebCrypto (Hono's JWT utilities).
 */
import { decode, verify } from "hono/jwt";
import type { HonoJsonWebKey } from "hono/utils/jwt/jws";
import { PRINCIPAL_PATTERN, TokenScope } from "../../protocol/api/access";
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";
import { KEY_PREFIX, sha256Hex } from "./access-do";
import type { Grant } from "./authorizer";
import { ANONYMOUS, type AccessConfig, BOOTSTRAP_PRINCIPAL, accessConfig } from "./config";
import type { AccessView } from "./snapshot";

/** The clock skew allowed on exp and nbf. */
export const CLOCK_SKEW_S = 30;
/** How long a fetched JWKS is used before it is fetched again. */
export const JWKS_TTL_MS = 10 * 60_000;

const encoder = new TextEncoder();
const refuse = (why: string) => new EdgelogError("SASL_AUTHENTICATION_FAILED", why);

/** Equal strings, in time that does not depend on where they differ (both are hashed to one length first). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return timingSafeEqual(a, b);
}

function timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return (crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean }).timingSafeEqual(a, b);
}

/** The grant of every request when auth is off. */
export const OPEN_GRANT: Grant = { principal: ANONYMOUS, superuser: true, via: "open" };

/** The credential a request carries: the Authorization header, or ?access_token= on a WebSocket upgrade. */
export function credentialOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header !== null) return /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] ?? "";
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return undefined;
  return new URL(request.url).searchParams.get("access_token") ?? undefined;
}

/** The grant for a credential, or 401. */
export async function authenticate(env: Env, credential: string | undefined, view: () => Promise<AccessView>): Promise<Grant> {
  const config = accessConfig(env);
  if (!config.on) return OPEN_GRANT;
  if (credential === undefined) throw refuse("missing credentials: send Authorization: Bearer <API key or token>");
  if (credential === "") throw refuse("malformed Authorization header: use Bearer <API key or token>");
  if (config.token && (await sameSecret(credential, config.token))) {
    return { principal: BOOTSTRAP_PRINCIPAL, superuser: true, via: "token" };
  }
  if (credential.startsWith(KEY_PREFIX)) return apiKey(credential, await view(), config.superusers);
  if (credential.split(".").length === 3) return jwt(env, credential);
  throw refuse("wrong credentials: not a valid API key or token");
}

async function apiKey(secret: string, view: AccessView, superusers: ReadonlySet<string>): Promise<Grant> {
  const keyId = secret.slice(KEY_PREFIX.length).split("_")[0];
  const key = view.key(keyId);
  // The hash is compared even for an unknown key, so that timing tells nothing about which ids exist.
  const hash = encoder.encode(await sha256Hex(secret));
  const expected = encoder.encode(key?.hash ?? "0".repeat(64));
  if (!timingSafeEqual(hash.buffer as ArrayBuffer, expected.buffer as ArrayBuffer) || !key) {
    throw refuse("wrong, unknown or revoked API key");
  }
  return { principal: key.principal, superuser: superusers.has(key.principal), via: "key", keyId };
}

/**
 * Verified tokens, until they expire (a page's requests each carry the same one), per access
 * configuration: a token verified under one secret or audience says nothing under another.
 */
const verifiedBy = new WeakMap<AccessConfig, Map<string, Grant>>();

async function jwt(env: Env, token: string): Promise<Grant> {
  const nowS = Date.now() / 1000;
  const config = accessConfig(env);
  let verified = verifiedBy.get(config);
  if (!verified) verifiedBy.set(config, (verified = new Map()));
  const hit = verified.get(token);
  if (hit) {
    if (hit.expiresAt! / 1000 + CLOCK_SKEW_S > nowS) return hit;
    verified.delete(token);
  }
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = decode(token).header as { alg?: unknown; kid?: unknown };
  } catch {
    throw refuse("malformed token");
  }
  const checks = { exp: false, nbf: false, iat: false, aud: config.audience, iss: config.issuer } as const;
  let payload: Record<string, unknown>;
  try {
    if (header.alg === "HS256") {
      if (!config.jwtSecret) throw refuse("HS256 tokens are not accepted: EDGELOG_JWT_SECRET is not set");
      payload = await verify(token, config.jwtSecret, { alg: "HS256", ...checks });
    } else if (header.alg === "ES256" || header.alg === "RS256") {
      const key = await publicKey(config, typeof header.kid === "string" ? header.kid : undefined, header.alg);
      payload = await verify(token, key, { alg: header.alg, ...checks });
    } else {
      throw refuse("unsupported token algorithm: use HS256, ES256 or RS256");
    }
  } catch (err) {
    if (err instanceof EdgelogError) throw err;
    // Hono's messages quote the token: only the error's kind is told.
    const kind = (err as Error)?.name ?? "";
    if (kind.includes("Audience") || kind.includes("RequiresAud")) throw refuse("token audience does not match EDGELOG_JWT_AUDIENCE");
    if (kind.includes("Issuer")) throw refuse("token issuer does not match EDGELOG_JWT_ISSUER");
    throw refuse("token signature does not verify");
  }
  if (typeof payload.exp !== "number" || !Number.isFinite(payload.exp)) throw refuse("token has no exp: tokens must expire");
  if (payload.exp + CLOCK_SKEW_S <= nowS) throw refuse("token expired");
  if (payload.nbf !== undefined && (typeof payload.nbf !== "number" || payload.nbf - CLOCK_SKEW_S > nowS)) {
    throw refuse("token not valid yet (nbf)");
  }
  const principal = `User:${typeof payload.sub === "string" ? payload.sub : ""}`;
  if (!PRINCIPAL_PATTERN.test(principal))
    throw refuse("token sub must name a principal: 1 to 256 printable characters, no spaces or commas");
  let scope: TokenScope | undefined;
  if (payload.acl !== undefined) {
    const parsed = TokenScope.safeParse(payload.acl);
    if (!parsed.success) throw refuse("token acl claim is malformed");
    scope = parsed.data;
  }
  const grant: Grant = { principal, superuser: config.superusers.has(principal), via: "jwt", expiresAt: payload.exp * 1000 };
  if (scope) grant.scope = scope;
  if (verified.size > 10_000) verified.clear();
  verified.set(token, grant);
  return grant;
}

let jwks: { url: string; keys: HonoJsonWebKey[]; until: number } | null = null;

async function publicKey(config: AccessConfig, kid: string | undefined, alg: string): Promise<HonoJsonWebKey> {
  const matching = (keys: HonoJsonWebKey[]) =>
    keys.find((k) => (kid === undefined ? keys.length === 1 : k.kid === kid) && (k.alg === undefined || k.alg === alg));
  const configured = matching(config.publicKeys);
  if (configured) return configured;
  if (config.jwksUrl) {
    if (!jwks || jwks.url !== config.jwksUrl || jwks.until < Date.now() || !matching(jwks.keys)) {
      // An unknown kid refetches (a rotated key), at most once a minute.
      if (!jwks || jwks.url !== config.jwksUrl || jwks.until - JWKS_TTL_MS + 60_000 < Date.now()) {
        const res = await fetch(config.jwksUrl);
        if (!res.ok) throw new EdgelogError("REQUEST_TIMED_OUT", `the JWKS at EDGELOG_JWKS_URL answered HTTP ${res.status}`);
        const body = (await res.json()) as { keys?: HonoJsonWebKey[] };
        jwks = { url: config.jwksUrl, keys: Array.isArray(body.keys) ? body.keys : [], until: Date.now() + JWKS_TTL_MS };
      }
    }
    const fetched = matching(jwks.keys);
    if (fetched) return fetched;
  }
  throw refuse("token signed by an unknown key (kid)");
}
