/**
 * Small helpers for Node-side tests against a real server: a JSON call and a bounded wait.
 *
 * Under vitest, every answer of a local server (callJson, the web-client, a bare fetch) is checked
 * against that server's /v1/openapi.json by ./contract-setup.node.ts, which wraps globalThis.fetch.
 */

/**
 * Sends JSON (POST when a body is given, else GET) and answers the status and parsed JSON body.
 *
 * @example
 * const { status, body } = await callJson(server.url, "/v1/topics", { name: "t" });
 */
export async function callJson(base: string, path: string, json?: unknown, method = json === undefined ? "GET" : "POST") {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: json === undefined ? undefined : { "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/**
 * callJson with a bearer credential, for a server started later (`base` is read at each call).
 *
 * @example
 * const admin = callingAs(() => server.url, "admin-secret");
 * await admin("/v1/admin/keys", { principal: "User:device-17" });
 */
export function callingAs(base: () => string, credential: string) {
  return async (path: string, json?: unknown, method = json === undefined ? "GET" : "POST") => {
    const res = await fetch(`${base()}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, ...(json === undefined ? {} : { "content-type": "application/json" }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
}

/** Waits until `condition` holds, polling; throws after `timeoutMs` (so a test fails, never hangs). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
