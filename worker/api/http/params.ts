/**
 * Reading request input strictly: every number is checked for type and range, every body for
 * shape and size, and a bad one is INVALID_REQUEST (or the code the caller names) before
 * anything is changed.
 */
import { EdgelogError, type ErrorCode } from "../../../protocol/errors";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * An integer query or path parameter: absent gives `fallback`; anything but a decimal integer
 * within [min, max] is refused.
 *
 * @example
 * intParam(c.req.query("offset"), "offset", { min: 0 }) // 42 for "?offset=42"
 */
export function intParam(
  raw: string | undefined,
  name: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER, fallback, code = "INVALID_REQUEST" }: { min?: number; max?: number; fallback?: number; code?: ErrorCode } = {},
): number {
  if (raw === undefined || raw === "") {
    if (fallback === undefined) throw new EdgelogError(code, `${name} is required`);
    return fallback;
  }
  const n = /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new EdgelogError(code, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/**
 * Reads a request body of at most `limit` bytes without trusting Content-Length: the stream is
 * counted as it arrives and abandoned past the limit (RECORD_LIST_TOO_LARGE, HTTP 413).
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) throw tooLarge(declared, limit);
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(size, limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

function tooLarge(size: number, limit: number): EdgelogError {
  return new EdgelogError("RECORD_LIST_TOO_LARGE", `request body of ${size}+ bytes exceeds the limit of ${limit} bytes`);
}

/** Parses a JSON body (at most `limit` bytes) that must be an object; `optional` lets empty mean `{}`. */
export async function readJsonObject(
  request: Request,
  limit: number,
  { optional = false }: { optional?: boolean } = {},
): Promise<{ body: Record<string, unknown>; bytes: Uint8Array }> {
  const bytes = await readBody(request, limit);
  if (optional && bytes.byteLength === 0) return { body: {}, bytes };
  let body: unknown;
  try {
    body = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    throw new EdgelogError("INVALID_REQUEST", "the body is not valid UTF-8 JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new EdgelogError("INVALID_REQUEST", "the body must be a JSON object");
  }
  return { body: body as Record<string, unknown>, bytes };
}

/** acks=0|1|all (default all). */
export function acksParam(raw: string | undefined): 0 | 1 | "all" {
  if (raw === undefined || raw === "all" || raw === "-1") return "all";
  if (raw === "0") return 0;
  if (raw === "1") return 1;
  throw new EdgelogError("INVALID_REQUIRED_ACKS", `acks must be 0, 1 or all, got ${JSON.stringify(raw)}`);
}

/**
 * Refuses a body (or a part of one, named by `where`) with a field outside `allowed`: a typo such
 * as "vaule" is an error, never silently ignored.
 *
 * @example
 * onlyFields(body, ["name", "partitions"]); // {"name": "t", "partitons": 3} -> INVALID_REQUEST
 */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[], where = "the body"): void {
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field)) {
      throw new EdgelogError("INVALID_REQUEST", `${where}: unknown field "${field}"; allowed: ${allowed.join(", ")}`);
    }
  }
}
