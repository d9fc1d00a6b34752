/**
 * Reading request bodies strictly: counted by bytes as they arrive (never trusting
 * Content-Length), and JSON bodies as strict UTF-8 objects. Their shape is the route schema's
 * to check (serve.ts).
 */
import { EdgelogError } from "../../../protocol/errors";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

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
