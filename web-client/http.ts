/**
 * The client's HTTP transport: JSON and record-batch requests to an edgelog worker, with errors
 * turned back into EdgelogErrors (the same codes the server's table defines).
 *
 * Web APIs only (fetch, AbortSignal), so it runs in browsers, Node 20 and workers alike.
 */
import { EdgelogError, isErrorCode, type ErrorBody } from "../protocol/errors";
import { HEADERS, MEDIA_TYPES } from "../protocol/wire";

export interface HttpOptions {
  /** The worker's base URL, e.g. "http://127.0.0.1:8787". */
  url: string;
  /** The bearer token, when the worker has EDGELOG_TOKEN set. */
  token?: string;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}

export class HttpTransport {
  readonly url: string;
  #token?: string;
  #fetch: typeof fetch;

  constructor(options: HttpOptions) {
    if (typeof options.url !== "string" || !/^https?:\/\//.test(options.url)) throw new TypeError("url must be an http(s) URL");
    this.url = options.url.replace(/\/+$/, "");
    this.#token = options.token;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Sends a request; answers the Response when it is 2xx, throws an EdgelogError otherwise. */
  async send(
    method: string,
    path: string,
    init: { json?: unknown; body?: Uint8Array; signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.#token) headers[HEADERS.authorization] = `Bearer ${this.#token}`;
    let body: BodyInit | undefined;
    if (init.json !== undefined) {
      headers[HEADERS.contentType] = MEDIA_TYPES.json;
      body = JSON.stringify(init.json);
    } else if (init.body) {
      headers[HEADERS.contentType] = MEDIA_TYPES.recordBatch;
      body = init.body as Uint8Array<ArrayBuffer>;
    }
    const res = await this.#fetch(`${this.url}${path}`, { method, headers, body, signal: init.signal });
    if (res.ok) return res;
    throw await errorOf(res);
  }

  /** A JSON request answering parsed JSON. */
  async json<T>(method: string, path: string, json?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.send(method, path, { json, signal });
    return (await res.json()) as T;
  }
}

/**
 * Whether a failed request may succeed if tried again: fetch rejects with a TypeError when no
 * answer came; an EdgelogError says so itself.
 */
export function isRetriable(err: unknown): boolean {
  return err instanceof EdgelogError ? err.retriable : err instanceof TypeError;
}

/**
 * How long a quota asks the client to wait (Kafka's throttle_time_ms), when the failure is a
 * 429 THROTTLING_QUOTA_EXCEEDED from a quota; undefined for any other failure.
 */
export function throttleDelay(err: unknown): number | undefined {
  return err instanceof EdgelogError && err.code === "THROTTLING_QUOTA_EXCEEDED" ? err.throttleTimeMs : undefined;
}

async function errorOf(res: Response): Promise<EdgelogError> {
  try {
    const body = (await res.json()) as ErrorBody;
    if (isErrorCode(body?.error?.code)) return EdgelogError.fromBody(body);
  } catch {
    // not a JSON error body
  }
  return new EdgelogError(res.status >= 500 ? "REQUEST_TIMED_OUT" : "UNKNOWN_SERVER_ERROR", `HTTP ${res.status} from the server`);
}
