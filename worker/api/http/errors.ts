/**
 * Turning anything thrown into the JSON error answer.
 *
 * EdgelogErrors carry their code. Errors thrown by a Durable Object call are classified by the
 * runtime's structured flags, not by their text: `retryable` (a reset or a transient failure)
 * and `overloaded` mean the outcome is unknown, so they become retriable 5xx answers.
 */
import { ERROR_CODES, EdgelogError } from "../../../protocol/errors";

interface RuntimeErrorFlags {
  retryable?: boolean;
  overloaded?: boolean;
  remote?: boolean;
}

/** Maps any thrown value to an EdgelogError. */
export function classify(err: unknown): EdgelogError {
  if (err instanceof EdgelogError) return err;
  const flags = (typeof err === "object" && err !== null ? err : {}) as RuntimeErrorFlags;
  const detail = err instanceof Error ? err.message : String(err);
  if (flags.overloaded) return new EdgelogError("THROTTLING_QUOTA_EXCEEDED", `a partition object is overloaded: ${detail}`);
  if (flags.retryable)
    return new EdgelogError("REQUEST_TIMED_OUT", `a Durable Object was reset or unreachable, the outcome is unknown: ${detail}`);
  return new EdgelogError("UNKNOWN_SERVER_ERROR", detail);
}

/** The JSON answer for an error. */
export function errorResponse(err: unknown): Response {
  const error = classify(err);
  if (ERROR_CODES[error.code].status >= 500 && !(err instanceof EdgelogError)) console.error("edgelog: unexpected error", err);
  const headers: Record<string, string> = {};
  // Kafka's throttle_time_ms, and HTTP's Retry-After (whole seconds, rounded up) beside it.
  if (error.throttleTimeMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(error.throttleTimeMs / 1000)));
  return Response.json(error.toJSON(), { status: error.status, headers });
}
