/**
 * Which refusals are the entries' own fault, classified by error code: sending them again can
 * never succeed, so they move to `rejected`. Any other failure (no answer, a 5xx, throttling, a
 * bad token) leaves them in the outbox, and a batch in flight stays in flight, to be resent as it is.
 */
import { EdgelogError, type ErrorCode } from "../../protocol/errors";

const ENTRY_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "MESSAGE_TOO_LARGE",
  "INVALID_RECORD",
  "INVALID_TIMESTAMP",
  "CORRUPT_MESSAGE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "INVALID_TOPIC_EXCEPTION",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
]);

export function isEntryFault(err: unknown): err is EdgelogError {
  return err instanceof EdgelogError && ENTRY_FAULTS.has(err.code);
}
