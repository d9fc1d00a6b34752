/**
 * Runs the README's examples for real: curl commands through bash against a server, and code
 * blocks bundled with esbuild (the way public/edgelog.js is built) and imported in Node.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { format } from "node:util";
import { build } from "esbuild";
import type { Block } from "./readme-blocks";
import { running } from "./readme-client";

const ROOT = resolve(import.meta.dirname, "../..");
const SHIM = resolve(import.meta.dirname, "readme-client.ts");
const README_HOSTS = /(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):8787/g;
const STATUS_MARK = "\n@@readme-status ";

export interface CurlAnswer {
  status: number;
  /** Lower-case names; only with `curl -i`. */
  headers: Map<string, string>;
  statusLine?: string;
  body: string;
}

/** Puts the bound placeholders ("5c39…" → the real id) and the server's address into a text. */
export function substitute(text: string, baseUrl: string, bindings: Map<string, string>): string {
  let out = text;
  for (const [name, value] of [...bindings].sort((a, b) => b[0].length - a[0].length)) out = out.split(name).join(value);
  return out.replace(README_HOSTS, baseUrl);
}

/** Runs one curl command of the README (already substituted) with bash, as a reader would. */
export async function runCurl(command: string): Promise<CurlAnswer> {
  if (!/^curl\s/.test(command)) throw new Error(`not a curl command (run it, or exempt its block): ${command}`);
  const placeholder = /\S*…\S*/.exec(command);
  if (placeholder) throw new Error(`"${placeholder[0]}" is a placeholder that no answer shown before binds: ${command}`);
  const stdout = await new Promise<string>((done, fail) =>
    execFile(
      "bash",
      ["-c", `${command} --write-out '${STATUS_MARK.replace("\n", "\\n")}%{http_code}'`],
      { timeout: 40_000, maxBuffer: 64 << 20 },
      (err, out, errOut) => (err ? fail(new Error(`${command}\nexited with ${err.code}: ${errOut}${out}`)) : done(out)),
    ),
  );
  const at = stdout.lastIndexOf(STATUS_MARK);
  if (at < 0) throw new Error(`no status from curl: ${stdout}`);
  const status = Number(stdout.slice(at + STATUS_MARK.length).trim());
  let body = stdout.slice(0, at);
  const headers = new Map<string, string>();
  let statusLine: string | undefined;
  if (/^HTTP\/\S+ \d{3}/.test(body)) {
    const split = body.indexOf("\r\n\r\n");
    const head = body.slice(0, split < 0 ? body.length : split).split("\r\n");
    body = split < 0 ? "" : body.slice(split + 4);
    statusLine = head[0];
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return { status, headers, statusLine, body };
}

/** A ```http answer: its status line, the headers shown, and the body. */
export function parseHttpShown(text: string): { status: number; headers: [string, string][]; body: string } {
  const [head, ...rest] = text.split(/\n\s*\n/);
  const lines = head.split("\n");
  const status = /^HTTP\/\S+ (\d{3})/.exec(lines[0]);
  if (!status) throw new Error(`a \`\`\`http answer must start with a status line: ${lines[0]}`);
  const headers = lines
    .slice(1)
    .map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]);
  return { status: Number(status[1]), headers, body: rest.join("\n\n") };
}

export interface CodeRun {
  /** What the example printed with console.log, line by line (so far). */
  printed: string[];
  /** Resolves when the example's module has finished evaluating (its top-level awaits). */
  evaluated: Promise<void>;
  /** Does what the example leaves for later: stops what it started; restores console and globals. */
  finish(): Promise<void>;
}

/**
 * Bundles a ```ts/```js block, or the module script of an ```html block, and imports it. The
 * page's globals an html block relies on (`location`, `WebSocket`) are given for the run.
 */
export async function runCode(block: Block, baseUrl: string, pageGlobals: { WebSocket: unknown }): Promise<CodeRun> {
  let source = block.text;
  let loader: "ts" | "js" = block.lang === "ts" ? "ts" : "js";
  const restores: (() => void)[] = [];
  if (block.lang === "html") {
    const script = /<script type="module">([\s\S]*?)<\/script>/.exec(source);
    if (!script) throw new Error(`README line ${block.line}: an html example without a <script type="module">`);
    source = script[1];
    loader = "js";
    restores.push(setGlobal("location", new URL(baseUrl)), setGlobal("WebSocket", pageGlobals.WebSocket));
  }
  source = source.replace(README_HOSTS, baseUrl);
  const bundle = await build({
    stdin: { contents: source, resolveDir: ROOT, loader, sourcefile: `README.md:${block.line}` },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "silent",
    plugins: [
      {
        name: "readme-client",
        setup(b) {
          b.onResolve({ filter: /^(\.\/web-client(\/index(\.ts)?)?|\/edgelog\.js)$/ }, () => ({ path: SHIM }));
        },
      },
    ],
  });
  const file = join(mkdtempSync(join(tmpdir(), "edgelog-readme-")), `line-${block.line}.mjs`);
  writeFileSync(file, bundle.outputFiles[0].text);

  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(...format(...args).split("\n"));
  restores.push(() => (console.log = log));
  running().length = 0;
  const evaluated = import(/* @vite-ignore */ pathToFileURL(file).href).then(() => undefined);
  evaluated.catch(() => undefined);
  return {
    printed,
    evaluated,
    finish: async () => {
      try {
        for (const stop of running().splice(0)) await stop();
      } finally {
        for (const restore of restores.reverse()) restore();
      }
    },
  };
}

function setGlobal(name: string, value: unknown): () => void {
  const had = Object.getOwnPropertyDescriptor(globalThis, name);
  Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  return () => (had ? Object.defineProperty(globalThis, name, had) : delete (globalThis as Record<string, unknown>)[name]);
}
