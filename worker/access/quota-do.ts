/**
 * The Quota Durable Object: one per principal (named "quota/<principal>"), where every isolate's
 * requests for that principal are counted, so a quota holds across isolates and colos.
 *
 * Each quota key (producer_byte_rate, consumer_byte_rate, request_rate) is a GCRA meter (the
 * token bucket written as a "theoretical arrival time"): a cost of n at rate r moves the meter
 * n/r seconds ahead, and a cost is admitted while the meter is at most BURST_MS ahead of now.
 * The rates come with each call (from the caller's access snapshot), so a changed quota applies
 * as soon as the caller's snapshot has it.
 *
 * Two kinds of cost, as Kafka throttles them:
 *   "admit"  checked first: over quota, nothing is charged and the call answers how long to wait
 *            (produce bytes, which are known before the append, and requests);
 *   "charge" charged after the fact (fetched or pushed bytes, known only once read): the next
 *            call waits out the debt.
 * The meters live in memory: an object that restarts forgets its debts (at most one burst more).
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** How far ahead of now a meter may run: one second's worth of the rate, as Kafka's quota window. */
export const BURST_MS = 1_000;

export type QuotaKey = "producer_byte_rate" | "consumer_byte_rate" | "request_rate";

export interface QuotaCost {
  key: QuotaKey;
  /** Bytes or requests. */
  amount: number;
  /** The quota: per second. */
  rate: number;
  mode: "admit" | "charge";
}

export class Quota extends DurableObject<Env> {
  /** Per key: the time (epoch ms) the meter has reached. */
  #meters = new Map<QuotaKey, number>();

  /**
   * Applies the costs at once ("charge" costs are never refused): if any "admit" cost is over its quota, none is charged and the
   * answer is how long to wait (ms) and the key that is over; otherwise all are charged and the answer is 0.
   */
  take(costs: readonly QuotaCost[], now = Date.now()): { throttleTimeMs: number; over?: QuotaKey } {
    let wait = 0;
    let over: QuotaKey | undefined;
    for (const cost of costs) {
      const at = Math.max(this.#meters.get(cost.key) ?? 0, now);
      const ahead = at - now;
      // An admitted cost may take the meter up to BURST_MS ahead; beyond that it waits. (An
      // "admit" of 0 only checks for debt: a fetch before it reads.)
      if (cost.mode === "admit" && ahead > BURST_MS && ahead - BURST_MS > wait) {
        wait = ahead - BURST_MS;
        over = cost.key;
      }
    }
    if (wait > 0) return { throttleTimeMs: Math.ceil(wait), over };
    for (const cost of costs) {
      if (cost.amount === 0) continue;
      const at = Math.max(this.#meters.get(cost.key) ?? 0, now);
      this.#meters.set(cost.key, at + (cost.amount / cost.rate) * 1000);
    }
    return { throttleTimeMs: 0 };
  }
}

/** A principal's quota object. */
export function quotaObject(env: Env, principal: string) {
  return env.QUOTA.get(env.QUOTA.idFromName(`quota/${principal}`));
}
