/**
 * Access on open sockets. A request is checked once; a socket lives on, so the object that holds
 * it (the partition's leader for push, the member's session for the group socket) keeps the
 * grant it was opened with and checks it again every SOCKET_RECHECK_MS against its own isolate's
 * access view (at most ACCESS_STALENESS_MS old, snapshot.ts):
 *   - an API key that was revoked, or a token that expired, ends the socket;
 *   - so does a removed ACL: the socket's needs (Read on the topic; Read on the group and on
 *     each assigned topic) must still be allowed.
 * A socket that is ended is closed with CLOSE_CODES.accessRevoked (4031) and a reason naming the
 * error code (SASL_AUTHENTICATION_FAILED, or the resource's *_AUTHORIZATION_FAILED). So a change
 * reaches every open socket within ACCESS_STALENESS_MS + SOCKET_RECHECK_MS (10 s).
 *
 * What a socket is sent is metered by its principal's consumer_byte_rate ({@link consumerRate},
 * {@link meterPush}): a frame over quota waits for the quota's throttle time, so a quota slows a
 * socket and never closes it.
 *
 * The worker hands the grant to the object in the upgrade's URL (the object is reachable only
 * through its binding, so no client can set it); with auth off there is none, and nothing is
 * checked.
 */
import type { ErrorCode } from "../../protocol/errors";
import type { Env } from "../env";
import { type Grant, type Need, REFUSAL_CODES } from "./authorizer";
import { quotaObject } from "./quota-do";
import { accessView } from "./snapshot";

/** The upgrade URL's parameter that carries the grant from the worker to the socket's object. */
export const GRANT_PARAM = "grant";

/** Puts a grant on the URL an upgrade is forwarded with (nothing with auth off). */
export function passGrant(url: URL, grant: Grant): void {
  if (grant.via !== "open") url.searchParams.set(GRANT_PARAM, JSON.stringify(grant));
}

/** The grant a forwarded upgrade carries, or undefined (auth off). */
export function grantOf(url: URL): Grant | undefined {
  const text = url.searchParams.get(GRANT_PARAM);
  return text ? (JSON.parse(text) as Grant) : undefined;
}

/**
 * Whether a socket opened with `grant` may go on with `needs`: null if so, else the code to close
 * it with.
 */
export async function socketRefusal(env: Env, grant: Grant, needs: readonly Need[], now = Date.now()): Promise<ErrorCode | null> {
  if (grant.expiresAt !== undefined && grant.expiresAt <= now) return "SASL_AUTHENTICATION_FAILED";
  const view = await accessView(env);
  if (grant.keyId !== undefined && !view.key(grant.keyId)) return "SASL_AUTHENTICATION_FAILED";
  const denied = needs.find((need) => !view.authorizer.allowed(grant, need));
  return denied ? REFUSAL_CODES[denied.resourceType] : null;
}

/**
 * The consumer_byte_rate of the principal a socket was opened by, or undefined (auth off, or no
 * quota): read once per read or drain, so a socket without a quota costs no further call.
 */
export async function consumerRate(env: Env, grant: Grant | undefined): Promise<number | undefined> {
  return grant ? (await accessView(env)).quotasOf(grant.principal).consumer_byte_rate : undefined;
}

/**
 * The most one frame may carry under `rate`: one second of it (so a quota paces frames instead of
 * admitting one huge one), else Infinity.
 */
export function frameCap(rate: number | undefined): number {
  return rate === undefined ? Infinity : Math.max(1, Math.floor(rate));
}

/**
 * Meters a frame of `bytes` about to be pushed to `principal` at `rate`: 0 when it may be sent now
 * (and is charged), else how long to wait before trying again. If the Quota object cannot be
 * reached, the frame goes (a quota is a fairness limit).
 */
export async function meterPush(env: Env, principal: string, rate: number, bytes: number): Promise<number> {
  try {
    const answer = await quotaObject(env, principal).take([{ key: "consumer_byte_rate", amount: bytes, rate, mode: "admit" }]);
    return answer.throttleTimeMs;
  } catch (err) {
    console.error("edgelog: push quota check failed, frame sent", String(err));
    return 0;
  }
}
