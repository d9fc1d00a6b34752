/**
 * The producer id and epoch of idempotent sends, from POST /v1/producers: asked once, shared by
 * every partition, and forgotten when a failure makes reusing it unsafe (see sender.ts), so the
 * next batch asks for a new one.
 */
import type { ProducerIdAnswer } from "../api-types";
import type { HttpTransport } from "../http";
import { retrying, type RetryOptions } from "./retry";

/** A producer id and epoch, as POST /v1/producers answers them. */
export type Identity = ProducerIdAnswer;

/**
 * Asks POST /v1/producers for a producer id: with a transactionalId, that id's producer (bumping
 * its epoch, which fences older instances), with its transaction timeout when one is given.
 *
 * @example
 * const { producerId, producerEpoch } = await requestIdentity(http, retries, "payments-1", 30_000);
 */
export function requestIdentity(
  http: HttpTransport,
  retries: RetryOptions,
  transactionalId?: string,
  transactionTimeoutMs?: number,
): Promise<Identity> {
  const body = transactionalId
    ? { transactionalId, ...(transactionTimeoutMs === undefined ? {} : { "transaction.timeout.ms": transactionTimeoutMs }) }
    : undefined;
  return retrying(retries, () => http.json<Identity>("POST", "/v1/producers", body));
}

/** The producer id in use: one request at a time, none kept when the request failed. */
export class ProducerIdentity {
  #ask: () => Promise<Identity>;
  #identity: Promise<Identity> | null = null;
  #current: Identity | null = null;

  constructor(ask: () => Promise<Identity>) {
    this.#ask = ask;
  }

  get(): Promise<Identity> {
    if (!this.#identity) {
      const asked = this.#ask();
      this.#identity = asked;
      asked.then(
        (identity) => {
          if (this.#identity === asked) this.#current = identity;
        },
        () => {
          if (this.#identity === asked) this.#identity = null;
        },
      );
    }
    return this.#identity;
  }

  /** Stops using `identity` if it is still the one in use: the next get() asks for a new producer id. */
  forget(identity: Identity): void {
    if (this.#current === identity) {
      this.#identity = null;
      this.#current = null;
    }
  }
}
