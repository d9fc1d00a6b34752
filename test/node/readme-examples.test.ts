/**
 * The README tells the truth: every example in it runs, in order, against one real `wrangler dev`
 * (so each builds on the ones before, as for a newcomer following it), and every answer it shows
 * is the answer the server gives. The convention the README follows is described in
 * test/support/readme-blocks.ts: a ```sh block of curl commands, then a ```json (or ```http)
 * block with the last command's answer; a ```ts/```js/```html block, then a ```text block with
 * what it prints; `…` where a value cannot be stable.
 *
 * A block that is neither run nor listed in EXEMPT below fails the test, so a new example cannot
 * go untested.
 */
import "fake-indexeddb/auto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, isErrorCode } from "../../protocol/errors";
import { startDevServer, type DevServer } from "../support/dev-server";
import { until } from "../support/http";
import { examples, shellCommands, type Example } from "../support/readme-blocks";
import { lineMatches, mismatches, parseShown } from "../support/readme-match";
import { parseHttpShown, runCode, runCurl, substitute, type CurlAnswer } from "../support/readme-run";

const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

/** Blocks not run, each found by a piece of its text, with the reason. Keep this list short. */
const EXEMPT = [
  { contains: "npm ci && npm start", reason: "starts the server this test starts itself, and runs the whole suite (this test included)" },
  { contains: "runtime-free Kafka wire pieces", reason: "the source tree's layout, not an example" },
  {
    contains: "/v1/transactions/enricher/partitions",
    reason:
      "its calls name the producer id the server assigned just before (a number no placeholder binds); test/worker/transactions.test.ts makes each of them",
  },
  {
    contains: "npm start -- --var EDGELOG_TOKEN:admin-secret",
    reason: "starts the broker with auth on that this test starts itself for the Access section (AUTH_VARS)",
  },
];

const RUN_LANGS = new Set(["sh", "ts", "js", "html"]);
const all = examples(readme);
const exemption = (ex: Example) => EXEMPT.find((e) => ex.code.text.includes(e.contains));
const runnable = all.filter((ex) => !exemption(ex));
const title = (ex: Example) =>
  `README line ${ex.code.line} (${ex.code.section}): ${ex.code.text
    .split("\n")
    .find((l) => l.trim() && !l.trim().startsWith("#"))
    ?.trim()
    .slice(0, 70)}`;

let server: DevServer;
/**
 * The README's "Access" section runs against a broker with auth on, started as that section
 * tells the reader to (`npm start -- --var EDGELOG_TOKEN:admin-secret ...`); every other section
 * against an open one.
 */
const AUTH_SECTION = "Access";
const AUTH_VARS = {
  EDGELOG_TOKEN: "admin-secret",
  EDGELOG_JWT_SECRET: "a-long-random-hs256-secret-for-the-readme",
  EDGELOG_CORS_ORIGINS: "https://app.example.com",
};
let authServer: DevServer | undefined;
/** Placeholders the answers shown so far bound ("5c39…" → the member id the server gave). */
const bindings = new Map<string, string>();

beforeAll(async () => {
  server = await startDevServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await authServer?.stop();
});

/** The server an example runs against. */
async function serverFor(ex: Example): Promise<DevServer> {
  if (ex.code.section !== AUTH_SECTION) return server;
  authServer ??= await startDevServer({ vars: AUTH_VARS });
  return authServer;
}

describe("the README's examples", () => {
  it("are each run by this test or exempt with a reason, and every exemption still matches a block", () => {
    for (const ex of runnable)
      expect(
        RUN_LANGS.has(ex.code.lang),
        `${title(ex)}: a \`\`\`${ex.code.lang || "(no language)"} block this test does not run; run it or add it to EXEMPT`,
      ).toBe(true);
    for (const e of EXEMPT)
      expect(
        all.filter((ex) => ex.code.text.includes(e.contains)).length,
        `the exemption "${e.contains}" matches no block, or several`,
      ).toBe(1);
  });

  for (const ex of runnable) {
    if (ex.code.lang === "sh") it(`${title(ex)} answers what the README shows`, () => runShell(ex), 120_000);
    else if (RUN_LANGS.has(ex.code.lang))
      it(`${title(ex)} runs${ex.output ? " and prints what the README shows" : ""}`, () => runExample(ex), 120_000);
  }
});

async function runShell(ex: Example): Promise<void> {
  const commands = shellCommands(ex.code.text);
  // Answers written as comments ("# -> {...}") would go unchecked: show them in a ```json block.
  expect(ex.code.text, `${title(ex)}: an answer in a comment`).not.toMatch(/^\s*#\s*->/m);
  expect(commands.length).toBeGreaterThan(0);
  const target = await serverFor(ex);
  for (const [i, command] of commands.entries()) {
    const answer = await runCurl(substitute(command, target.url, bindings));
    if (i === commands.length - 1 && ex.output) checkAnswer(ex, command, answer);
    else expect(answer.status, `${command}\nanswered ${answer.status}: ${answer.body}`).toBeLessThan(400);
  }
}

function checkAnswer(ex: Example, command: string, answer: CurlAnswer): void {
  const shown = ex.output!;
  const where = `README line ${shown.line}, the answer of\n${command}\nThe server answered ${answer.status}: ${answer.body}\n`;
  let body = shown.text;
  if (shown.lang === "http") {
    const http = parseHttpShown(shown.text);
    expect(answer.statusLine, `${where}a \`\`\`http answer needs \`curl -i\``).toBeDefined();
    expect(answer.status, where).toBe(http.status);
    for (const [name, value] of http.headers) {
      expect(answer.headers.has(name), `${where}header ${name} is missing`).toBe(true);
      expect(
        lineMatches(value, answer.headers.get(name)!),
        `${where}header ${name}: ${value} was shown, got ${answer.headers.get(name)}`,
      ).toBe(true);
    }
    body = http.body;
  }
  if (body.trim() === "") return;
  const expected = parseShown(body);
  let actual: unknown;
  try {
    actual = JSON.parse(answer.body);
  } catch {
    throw new Error(`${where}the answer is not JSON`);
  }
  const code = (expected as { error?: { code?: unknown } } | null)?.error?.code;
  if (typeof code === "string") {
    expect(isErrorCode(code), `${where}${code} is no error code of protocol/errors.ts`).toBe(true);
    expect(answer.status, `${where}${code} is answered with status ${ERROR_CODES[code as keyof typeof ERROR_CODES].status}`).toBe(
      ERROR_CODES[code as keyof typeof ERROR_CODES].status,
    );
  } else expect(answer.status, where).toBeLessThan(400);
  expect(mismatches(expected, actual, bindings), where).toEqual([]);
}

async function runExample(ex: Example): Promise<void> {
  const shownLines = ex.output ? ex.output.text.split("\n").filter((l) => l.trim() !== "") : [];
  const run = await runCode(ex.code, (await serverFor(ex)).url, { WebSocket });
  try {
    await run.evaluated;
    // What an example leaves running (a consumer, a subscription) prints as records arrive:
    // wait (bounded) until it printed as many lines as the README shows, then stop it.
    if (shownLines.length) await until(() => run.printed.length >= shownLines.length, 60_000).catch(() => undefined);
  } finally {
    await run.finish();
  }
  if (!ex.output) return;
  // Lines may interleave across partitions: each shown line must be printed once, nothing more.
  const unmatched = [...run.printed];
  const missing = shownLines.filter((line) => {
    const at = unmatched.findIndex((p) => lineMatches(line, p));
    if (at >= 0) unmatched.splice(at, 1);
    return at < 0;
  });
  expect({ missing, unexpected: unmatched }, `README line ${ex.output.line}: printed\n${run.printed.join("\n")}`).toEqual({
    missing: [],
    unexpected: [],
  });
}
