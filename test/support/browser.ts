/**
 * Debian's Chromium for the browser tests, headless, with the flags this machine needs (without
 * the networking flags it floods the closed network with connections).
 */
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * @example
 * const browser = await launchChromium();
 * const page = await (await browser.newContext({ baseURL: server.url })).newPage();
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
