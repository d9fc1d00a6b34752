// Bundles the TypeScript benchmark with esbuild (Node 20 cannot run .ts) and runs it.
import { build } from "esbuild";
import { fileURLToPath, pathToFileURL } from "node:url";

// Inside node_modules so that external packages (ws, a CommonJS module) resolve from the project.
const outfile = fileURLToPath(new URL("../node_modules/.cache/edgelog-bench/bench.mjs", import.meta.url));
await build({
  entryPoints: [new URL("./main.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  external: ["ws"],
  define: { "import.meta.dirname": JSON.stringify(new URL("../test/support", import.meta.url).pathname) },
});
await import(pathToFileURL(outfile).href);
