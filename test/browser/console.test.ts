/**
 * The console page in real Chromium: records posted over plain HTTP (as an IoT device would)
 * appear live; a reload resumes from the IndexedDB offset with no record shown twice or skipped;
 * a dropped connection (the local server restarted) is resumed and nothing is lost.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../support/browser";
import { startDevServer, type DevServer } from "../support/dev-server";

const SCREENSHOTS = resolve(import.meta.dirname, "../../test-results");
let server: DevServer;
let browser: Browser;

async function post(values: unknown[]): Promise<void> {
  const res = await fetch(`${server.url}/v1/topics/readings/records`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ records: values.map((value) => ({ key: "device-1", value, partition: 0 })) }),
  });
  expect(res.status).toBe(200);
}

/** The offsets of the rows the page shows, once it shows `count` rows. */
async function rows(page: Page, count: number): Promise<number[]> {
  await page.waitForFunction((n) => document.querySelectorAll("#records tr").length >= n, count, { timeout: 30_000 });
  return page.$$eval("#records tr", (trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.offset)));
}

describe("the console page", () => {
  beforeAll(async () => {
    server = await startDevServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows records as they are posted, resumes after a reload and after a dropped connection, with none shown twice or skipped", async () => {
    await fetch(`${server.url}/v1/topics`, { method: "POST", body: JSON.stringify({ name: "readings", partitions: 1 }) });
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    await page.goto("/?topic=readings&partition=0");

    await post([{ celsius: 20.5 }, { celsius: 21 }, "calibrating"]);
    expect(await rows(page, 3)).toEqual([0, 1, 2]);
    await expect.poll(() => page.textContent("#stored")).toBe("3");

    // Reload: the page resumes after what it showed, from IndexedDB.
    await page.reload();
    await expect.poll(() => page.textContent("#stored")).toBe("3");
    await post([{ celsius: 22 }, { celsius: 22.5 }]);
    expect(await rows(page, 2)).toEqual([3, 4]);

    // The connection drops (the local server restarts on the same port and state) and returns.
    const { port, persistTo } = server;
    await server.stop();
    server = await startDevServer({ port, persistTo });
    await post([{ celsius: 23 }]);
    expect(await rows(page, 3)).toEqual([3, 4, 5]);
    await expect.poll(() => page.textContent("#stored")).toBe("6");

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "console.png"), fullPage: true });
    await context.close();
  });
});
