/**
 * Cross-origin access in real Chromium against a real `wrangler dev` with auth on and
 * EDGELOG_CORS_ORIGINS naming one origin: a page served from that origin (a second local port,
 * which serves the built client bundle itself) produces with a device's API key — its preflights
 * succeed — and tails the topic over a WebSocket with a token minted in Node (?access_token=); it
 * is refused a topic its token may not read. A page from a third, unlisted origin cannot call the
 * API at all (fetch rejects with the browser's CORS TypeError) and its WebSocket is refused, even
 * with the same valid token.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken } from "../../web-client/token";
import { launchChromium } from "../support/browser";
import { startDevServer, type DevServer } from "../support/dev-server";

const TOKEN = "cross-origin-root-s3cret";
const SECRET = "cross-origin-jwt-secret-32-bytes!!";
const PUBLIC = resolve(import.meta.dirname, "../../public");

let server: DevServer;
let browser: Browser;
let app: Server;
let foreign: Server;
let appOrigin: string;
let foreignOrigin: string;

/** A static site on its own origin: an empty page and the client bundle the worker would serve. */
function site(): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end("<!doctype html><html><head><title>another origin</title></head><body></body></html>");
    } else if (path === "/edgelog.js" || path === "/edgelog.js.map") {
      res.writeHead(200, { "content-type": path.endsWith(".js") ? "text/javascript" : "application/json" });
      res.end(readFileSync(`${PUBLIC}${path}`));
    } else {
      res.writeHead(404).end();
    }
  });
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function admin(path: string, json: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

/** Runs `script` (an async function body, as text so the runner leaves its import() alone) in the page. */
function run<T>(page: Page, script: string, args: Record<string, unknown>): Promise<T> {
  return page.evaluate(`(async (args) => { ${script} })(${JSON.stringify(args)})`) as Promise<T>;
}

/** Opens a WebSocket and answers whether it opened, and its close code. */
const SOCKET = `
  const ws = new WebSocket(args.url);
  return await new Promise((done) => {
    let opened = false;
    ws.onopen = () => { opened = true; ws.close(1000); };
    ws.onclose = (e) => done({ opened, code: e.code });
  });`;

describe("a page from another origin", () => {
  beforeAll(async () => {
    app = site();
    foreign = site();
    appOrigin = await listen(app);
    foreignOrigin = await listen(foreign);
    server = await startDevServer({
      vars: { EDGELOG_TOKEN: TOKEN, EDGELOG_JWT_SECRET: SECRET, EDGELOG_CORS_ORIGINS: appOrigin },
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([app, foreign].map((s) => new Promise((r) => (s ? s.close(r) : r(undefined)))));
  });

  it("produces with a device key and tails with a minted token; is refused a topic it may not read; an unlisted origin gets nothing", async () => {
    await admin("/v1/topics", { name: "readings", partitions: 1 });
    await admin("/v1/topics", { name: "secrets", partitions: 1 });
    const device = (await admin("/v1/admin/keys", { principal: "User:device-1", description: "a sensor" })).secret as string;
    await admin("/v1/admin/acls", { principal: "User:device-1", resourceType: "topic", resourceName: "readings", operation: "Write" });
    await admin("/v1/admin/acls", { principal: "User:dashboard", resourceType: "topic", resourceName: "readings", operation: "Read" });
    const token = await mintToken({ secret: SECRET, subject: "dashboard", ttlSeconds: 600 });
    const api = server.url;

    // Preflights, as the browser sends them: allowed for the listed origin only.
    const preflight = (origin: string) =>
      fetch(`${api}/v1/topics/readings/records`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type,idempotency-key",
        },
      });
    const allowed = await preflight(appOrigin);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(appOrigin);
    expect(allowed.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    const refusedPreflight = await preflight(foreignOrigin);
    expect(refusedPreflight.status).toBe(403);
    expect(refusedPreflight.headers.get("access-control-allow-origin")).toBeNull();
    expect((await refusedPreflight.json()).error.code).toBe("POLICY_VIOLATION");

    const page = await browser.newPage();
    await page.goto(`${appOrigin}/`);
    const tail = await run<{ started: boolean }>(
      page,
      `const { Subscription } = await import("/edgelog.js");
       window.got = [];
       window.sub = new Subscription({ url: args.api, topic: "readings", partition: 0, offset: 0, token: args.token,
         onRecords: (records) => { for (const r of records) window.got.push(r.value); } });
       window.sub.start();
       return { started: true };`,
      { api, token },
    );
    expect(tail.started).toBe(true);

    // The device produces from the page: JSON with an idempotency key (a preflighted request), then the client's Producer (binary batches).
    const produced = await run<{ first: unknown; again: unknown; producer: number }>(
      page,
      `const { Producer } = await import("/edgelog.js");
       const send = () => fetch(args.api + "/v1/topics/readings/records", { method: "POST",
         headers: { authorization: "Bearer " + args.device, "content-type": "application/json", "idempotency-key": "page-1" },
         body: JSON.stringify({ records: [{ value: "from the page" }] }) });
       const first = await send();
       const again = await send();
       const producer = new Producer({ url: args.api, token: args.device, lingerMs: 0 });
       const [meta] = await producer.send("readings", [{ value: "from the producer" }]);
       await producer.close();
       return { first: [first.status, await first.json()], again: [again.status, await again.json()], producer: meta.offset };`,
      { api, device },
    );
    // The retried request (same key) answered the first one's offset and appended nothing.
    expect(produced.first).toEqual([200, { offsets: [{ partition: 0, offset: 0 }] }]);
    expect(produced.again).toEqual(produced.first);
    expect(produced.producer).toBe(1);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { got: unknown[] }).got), { timeout: 30_000 })
      .toEqual(["from the page", "from the producer"]);

    // Its token reads the fetch answers' offset headers (exposed), and is refused the other topic.
    const reads = await run<{ next: string | null; hw: string | null; status: number; code: string; socket: { opened: boolean } }>(
      page,
      `const auth = { authorization: "Bearer " + args.token };
       const batches = await fetch(args.api + "/v1/topics/readings/partitions/0/batches?offset=0", { headers: auth });
       await batches.arrayBuffer();
       const refused = await fetch(args.api + "/v1/topics/secrets/partitions/0/records?offset=0", { headers: auth });
       const body = await refused.json();
       const socket = await (async () => { ${SOCKET} })();
       return { next: batches.headers.get("edgelog-next-offset"), hw: batches.headers.get("edgelog-high-watermark"),
         status: refused.status, code: body.error.code, socket };`,
      { api, token, url: `${api.replace(/^http/, "ws")}/v1/topics/secrets/partitions/0/subscribe?offset=0&access_token=${token}` },
    );
    expect(reads).toMatchObject({ next: "2", hw: "2", status: 403, code: "TOPIC_AUTHORIZATION_FAILED", socket: { opened: false } });
    await page.evaluate(() => (window as unknown as { sub: { close(): void } }).sub.close());

    // A page from an unlisted origin, with the same valid token: the browser refuses every answer, the worker every socket.
    const other = await browser.newPage();
    await other.goto(`${foreignOrigin}/`);
    const outcome = await run<{ withToken: string; simple: string; socket: { opened: boolean; code: number } }>(
      other,
      `const attempt = (init) => fetch(args.api + "/v1/topics/readings/partitions/0/records?offset=0", init).then(
         (res) => "answered " + res.status, (err) => err.name);
       const withToken = await attempt({ headers: { authorization: "Bearer " + args.token } });
       const simple = await attempt({});
       const socket = await (async () => { ${SOCKET} })();
       return { withToken, simple, socket };`,
      { api, token, url: `${api.replace(/^http/, "ws")}/v1/topics/readings/partitions/0/subscribe?offset=0&access_token=${token}` },
    );
    expect(outcome).toEqual({ withToken: "TypeError", simple: "TypeError", socket: { opened: false, code: 1006 } });
    // The same socket from the listed origin opens.
    expect(
      await run<{ opened: boolean }>(page, SOCKET, {
        url: `${api.replace(/^http/, "ws")}/v1/topics/readings/partitions/0/subscribe?offset=0&access_token=${token}`,
      }),
    ).toMatchObject({ opened: true });
    await page.close();
    await other.close();
  });
});
