/**
 * A minimal keep-alive HTTP client for the benchmark. Node's fetch (undici) costs the client more
 * CPU per request than node:http on this 2-core machine, and the client shares the cores with the
 * server: the lighter client measures the server, not itself.
 */
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface BenchResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Bearer credentials by server origin: every request to that server carries its credential. */
const credentials = new Map<string, string>();

/** Makes every later request to `base`'s origin carry `Authorization: Bearer <credential>`. */
export function useCredential(base: string, credential: string): void {
  credentials.set(new URL(base).origin, credential);
}

export function request(
  url: string,
  init: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<BenchResponse> {
  const u = new URL(url);
  const credential = credentials.get(u.origin);
  const headers = credential ? { authorization: `Bearer ${credential}`, ...init.headers } : init.headers;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? "GET", headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

export function closeAgent(): void {
  agent.destroy();
}
