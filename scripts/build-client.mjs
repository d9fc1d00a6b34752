// Builds the browser client (web-client/) into one ES module the worker serves as /edgelog.js.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("../web-client/index.ts", import.meta.url).pathname],
  outfile: new URL("../public/edgelog.js", import.meta.url).pathname,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  sourcemap: true,
  logLevel: "warning",
});
