/**
 * The group consumer in real Chromium, from the served bundle: two tabs of one app sharing one
 * IndexedDB are two members that split the partitions without fencing each other, and a tab whose
 * timers no longer run (as a hidden tab's, throttled to once a minute) keeps its partitions past
 * its session timeout, because its socket's session heartbeats for it.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/browser";
import { startDevServer, type DevServer } from "../support/dev-server";

let server: DevServer;
let browser: Browser;

async function call(path: string, json?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: json === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * What a tab of the app runs: a consumer of group "app" from the served bundle, with the app's
 * shared offset cache. Passed as text, so the test runner does not rewrite its import().
 */
const TAB_SCRIPT = `(async () => {
  const { Consumer, OffsetCache } = await import("/edgelog.js");
  window.seen = [];
  const consumer = new Consumer({ url: location.origin, groupId: "app", topics: ["tabs"], sessionTimeoutMs: 2000, offsetCache: await OffsetCache.open("app") });
  window.consumer = consumer;
  consumer.run({ eachBatch: async (b) => b.records.forEach((r) => window.seen.push([b.partition, r.offset])) });
})()`;

/** Opens a tab of the app: any page of the origin, to import the bundle from. */
async function startTab(page: Page): Promise<void> {
  await page.goto("/v1/openapi.json");
  await page.evaluate(TAB_SCRIPT);
}

const assigned = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { consumer: { assignment: { partition: number }[] } }).consumer.assignment.map((tp) => tp.partition),
  );
const memberOf = (page: Page) => page.evaluate(() => (window as unknown as { consumer: { memberId: string } }).consumer.memberId);
const seen = (page: Page) => page.evaluate(() => (window as unknown as { seen: [number, number][] }).seen);

describe("the group consumer in two tabs", () => {
  beforeAll(async () => {
    server = await startDevServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("split the partitions as two members sharing one IndexedDB, and a tab whose timers stopped keeps its partitions while its socket is open", async () => {
    expect((await call("/v1/topics", { name: "tabs", partitions: 2 })).status).toBe(201);
    const context = await browser.newContext({ baseURL: server.url });
    const [a, b] = [await context.newPage(), await context.newPage()];
    await startTab(a);
    await startTab(b);
    await expect.poll(async () => [(await assigned(a)).length, (await assigned(b)).length], { timeout: 30_000 }).toEqual([1, 1]);
    expect([...(await assigned(a)), ...(await assigned(b))].sort()).toEqual([0, 1]);
    const members = [await memberOf(a), await memberOf(b)];

    // Tab a's timers stop, as a hidden tab's do (Chrome runs them once a minute at most).
    await a.evaluate(() => {
      window.setTimeout = (() => 0) as unknown as typeof window.setTimeout;
      window.setInterval = (() => 0) as unknown as typeof window.setInterval;
    });
    await new Promise((r) => setTimeout(r, 6_000)); // three session timeouts
    const described = (await call("/v1/groups/app")).body;
    expect(described.members.map((m: { memberId: string }) => m.memberId).sort()).toEqual([...members].sort());

    const records = [0, 1].flatMap((partition) => Array.from({ length: 5 }, (_, i) => ({ value: `r${i}`, partition })));
    expect((await call("/v1/topics/tabs/records", { records })).status).toBe(200);
    await expect.poll(async () => (await seen(a)).length + (await seen(b)).length, { timeout: 30_000 }).toBe(10);
    const [mine, theirs] = [await assigned(a), await assigned(b)];
    expect((await seen(a)).map(([p]) => p).every((p) => p === mine[0])).toBe(true);
    expect((await seen(b)).map(([p]) => p).every((p) => p === theirs[0])).toBe(true);
    expect([await memberOf(a), await memberOf(b)]).toEqual(members);
    await context.close();
  });
});
