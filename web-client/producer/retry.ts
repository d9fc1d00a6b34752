/**
 * Retrying one request with jittered exponential backoff while its failure is retriable (no
 * answer, a retriable 5xx, throttling); once the attempts run out the outcome is unknown, and the
 * failure becomes REQUEST_TIMED_OUT.
 *
 * A quota's refusal (429 with throttleTimeMs) is not a failure of the request: nothing was
 * appended, and the server says when to come back. The client waits exactly that long, as
 * Kafka's clients do, and the wait does not use up an attempt.
 */
import { EdgelogError } from "../../protocol/errors";
import { backoffDelay } from "../backoff";
import { isRetriable, throttleDelay } from "../http";

/** Jittered exponential backoff: the n-th wait is drawn from [d/2, d], d = min(maxMs, initialMs * 2^(n-1)). */
export interface RetryOptions {
  initialMs: number;
  maxMs: number;
  /** Tries of one request, the first included. */
  attempts: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `fn` until it succeeds, fails for good, or runs out of attempts (then REQUEST_TIMED_OUT). */
export async function retrying<T>(retries: RetryOptions, fn: () => Promise<T>): Promise<T> {
  const { initialMs, maxMs, attempts } = retries;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const throttled = throttleDelay(err);
      if (throttled !== undefined) {
        await sleep(throttled);
        attempt--;
        continue;
      }
      if (!isRetriable(err)) throw err;
      if (attempt >= attempts) throw outcomeUnknown(err, attempt);
      await sleep(backoffDelay(attempt - 1, initialMs, maxMs));
    }
  }
}

function outcomeUnknown(err: unknown, attempts: number): EdgelogError {
  if (err instanceof EdgelogError) return err;
  const wrapped = new EdgelogError(
    "REQUEST_TIMED_OUT",
    `no answer after ${attempts} attempt(s): ${err instanceof Error ? err.message : String(err)}`,
  );
  wrapped.cause = err;
  return wrapped;
}
