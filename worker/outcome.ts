/**
 * What a Durable Object's RPC method answers: a value, or a coded refusal.
 *
 * Errors thrown across RPC lose their fields (only the message survives), so an object that
 * refuses a request returns the refusal as data; the worker turns it back into an EdgelogError.
 * Thrown errors are left for what is really unexpected (resets, overloads, bugs).
 */
import { EdgelogError, type ErrorCode } from "../protocol/errors";

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/** Wraps a value. */
export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** Runs `fn`, turning an EdgelogError it throws into a refusal. */
export function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return ok(fn());
  } catch (err) {
    if (err instanceof EdgelogError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

/** Async {@link attempt}. */
export async function attemptAsync<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return ok(await fn());
  } catch (err) {
    if (err instanceof EdgelogError) return { ok: false, code: err.code, message: err.message };
    throw err;
  }
}

/** The value, or the refusal thrown as an EdgelogError. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new EdgelogError(outcome.code, outcome.message);
}
