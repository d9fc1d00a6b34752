/**
 * Minting the short-lived tokens the worker accepts with EDGELOG_JWT_SECRET: HS256 JWTs whose
 * `sub` names the principal (User:<sub>), with `exp` (required), `iat`, optional `nbf`, `aud`
 * and `iss`, and the optional `acl` claim that narrows what the token may do below its
 * principal's ACLs (protocol/api/access.ts, TokenScope).
 *
 * Web APIs only (WebCrypto's HMAC): it runs in Node 20, workers and Deno alike. Mint on a server
 * you trust, never in a browser: whoever holds the secret can mint any principal. Hand the token
 * to the page, which sends it as `token` (HttpTransport, Producer, Consumer, Subscription).
 *
 * @example
 * const token = await mintToken({
 *   secret: process.env.EDGELOG_JWT_SECRET!,
 *   subject: "dashboard-7",
 *   ttlSeconds: 900,
 *   acl: [{ resourceType: "topic", resourceName: "sensors", operations: ["Read"] }],
 * });
 * // in the page: new Subscription({ url, topic: "sensors", partition: 0, offset: 0, token, onRecords })
 */
import type { Operation, PatternType, ResourceType } from "../protocol/api/access";
import { toBase64Url } from "../protocol/base64";

/** One entry of the `acl` claim: a resource pattern and the operations allowed on it. */
export interface TokenScopeEntry {
  resourceType: ResourceType;
  resourceName: string;
  /** Default "literal". */
  patternType?: PatternType;
  operations: Operation[];
}

export interface MintTokenOptions {
  /** The HS256 key: the worker's EDGELOG_JWT_SECRET. */
  secret: string;
  /** The principal's name: the token authenticates as User:<subject> ("device-17"; a leading "User:" is dropped). */
  subject: string;
  /** How long the token is valid, in seconds: its `exp` is now plus this. */
  ttlSeconds: number;
  /** The `aud` claim: must include the worker's EDGELOG_JWT_AUDIENCE when that is set. */
  audience?: string | string[];
  /** The `iss` claim: must equal the worker's EDGELOG_JWT_ISSUER when that is set. */
  issuer?: string;
  /** The `nbf` claim, epoch seconds: the token is refused before then. */
  notBefore?: number;
  /** The `acl` claim: the token may do only this (and never more than its principal's ACLs allow). */
  acl?: TokenScopeEntry[];
  /** When the token is minted, epoch milliseconds (default: now). */
  now?: number;
}

/** A principal's name, as the worker accepts it (User:<name>, no spaces or commas). */
const NAME = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;
const encoder = new TextEncoder();

const part = (value: unknown) => toBase64Url(encoder.encode(JSON.stringify(value)));

/** Mints an HS256 token for `subject`; throws a TypeError for options the worker would refuse. */
export async function mintToken(options: MintTokenOptions): Promise<string> {
  const { secret, ttlSeconds, audience, issuer, notBefore, acl } = options;
  if (typeof secret !== "string" || secret.length === 0) throw new TypeError("secret must be a non-empty string (EDGELOG_JWT_SECRET)");
  const subject = typeof options.subject === "string" ? options.subject.replace(/^User:/, "") : "";
  if (!NAME.test(subject)) throw new TypeError("subject must be 1 to 256 printable characters, no spaces or commas");
  if (typeof ttlSeconds !== "number" || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError("ttlSeconds must be a positive number");
  }
  if (notBefore !== undefined && (typeof notBefore !== "number" || !Number.isFinite(notBefore))) {
    throw new TypeError("notBefore must be epoch seconds");
  }
  if (acl !== undefined && !Array.isArray(acl)) throw new TypeError("acl must be an array of { resourceType, resourceName, operations }");
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const payload: Record<string, unknown> = { sub: subject, iat, exp: iat + Math.ceil(ttlSeconds) };
  if (notBefore !== undefined) payload.nbf = Math.floor(notBefore);
  if (audience !== undefined) payload.aud = audience;
  if (issuer !== undefined) payload.iss = issuer;
  if (acl !== undefined) payload.acl = acl;
  const signingInput = `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}`;
  const key = await globalThis.crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(signingInput)));
  return `${signingInput}.${toBase64Url(signature)}`;
}
