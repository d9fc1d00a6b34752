// Bundles the TypeScript benchmark with esbuild (Node 20 cannot run .ts) and runs it.
import { build } from "esbuild";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const outfile = join(mkdtempSync(join(tmpdir(), "edgelog-bench-")), "bench.mjs");
await build({
  entryPoints: [new URL("./main.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  define: { "import.meta.dirname": JSON.stringify(new URL("../test/support", import.meta.url).pathname) },
});
await import(pathToFileURL(outfile).href);
