/**
 * Kafka's client quotas on the HTTP routes: `request_rate` (requests per second) on every
 * request, `producer_byte_rate` on produced bytes and `consumer_byte_rate` on fetched bytes, per
 * principal (its own quotas, else the `default` entity's; worker/access/snapshot.ts).
 *
 * The meters live in the principal's Quota object (worker/access/quota-do.ts), so they hold across
 * isolates and colos. A request whose principal has no quota makes no call at all (auth off, or no
 * quota set), so quotas cost nothing until they are configured.
 *
 *   produce  the body's bytes are admitted before the append: over quota, nothing is appended
 *   fetch    a fetch is admitted while the principal has no byte debt; the bytes it returns are
 *            charged after the answer (Kafka throttles fetches the same way, after the fact)
 *
 * Over quota the answer is 429 THROTTLING_QUOTA_EXCEEDED with throttleTimeMs and Retry-After.
 * If the Quota object cannot be reached, the request is let through (and logged): a quota is a
 * fairness limit, and failing closed would turn a Quota object's restart into an outage.
 */
import { EdgelogError } from "../../../protocol/errors";
import { accessConfig } from "../../access/config";
import { type QuotaCost, quotaObject } from "../../access/quota-do";
import { accessView } from "../../access/snapshot";
import type { Ctx } from "./serve";

/** How a route's bytes count: produced (admitted before) or fetched (charged after). */
export type QuotaUse = "produce" | "fetch";

/**
 * Admits one request (and, for a produce, its bytes) against the principal's quotas, or throws
 * 429 THROTTLING_QUOTA_EXCEEDED with how long to wait.
 */
export async function admit(c: Ctx, use: QuotaUse | undefined, bytes: number): Promise<void> {
  if (!accessConfig(c.env).on) return;
  const principal = c.get("grant").principal;
  const quotas = (await accessView(c.env)).quotasOf(principal);
  c.set("quotas", quotas); // for chargeFetched, after the read
  const costs: QuotaCost[] = [];
  if (quotas.request_rate !== undefined) costs.push({ key: "request_rate", amount: 1, rate: quotas.request_rate, mode: "admit" });
  if (use === "produce" && quotas.producer_byte_rate !== undefined) {
    costs.push({ key: "producer_byte_rate", amount: bytes, rate: quotas.producer_byte_rate, mode: "admit" });
  }
  if (use === "fetch" && quotas.consumer_byte_rate !== undefined) {
    costs.push({ key: "consumer_byte_rate", amount: 0, rate: quotas.consumer_byte_rate, mode: "admit" });
  }
  if (costs.length === 0) return;
  let answer: { throttleTimeMs: number; over?: string };
  try {
    answer = await quotaObject(c.env, principal).take(costs);
  } catch (err) {
    console.error("edgelog: quota check failed, request let through", String(err));
    return;
  }
  const { throttleTimeMs, over } = answer;
  if (throttleTimeMs > 0) {
    throw new EdgelogError(
      "THROTTLING_QUOTA_EXCEEDED",
      `over the ${over} quota of ${principal}: retry in ${throttleTimeMs} ms`,
      throttleTimeMs,
    );
  }
}

/**
 * Charges bytes a fetch returned to the principal's consumer_byte_rate, after the answer: with
 * the quotas {@link admit} found, so a principal without that quota costs nothing more here.
 */
export function chargeFetched(c: Ctx, bytes: number): void {
  const rate = c.get("quotas")?.consumer_byte_rate;
  if (rate === undefined || bytes === 0) return;
  const stub = quotaObject(c.env, c.get("grant").principal);
  c.executionCtx.waitUntil(
    (async () => {
      await stub.take([{ key: "consumer_byte_rate", amount: bytes, rate, mode: "charge" }]);
    })().catch((err) => console.error("edgelog: quota charge failed", String(err))),
  );
}
