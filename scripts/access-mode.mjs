// Says, before `npm start`, whether the local worker will ask for credentials, and which origins
// may call it cross-origin. It reads what `wrangler dev` reads, with wrangler's own readers:
// wrangler.toml's [vars], then .dev.vars (or, when there is none, .env and .env.local), which win.
// It never prints a secret's value.
//
//   node scripts/access-mode.mjs [project-dir]
//
// Auth is on as soon as a credential is configured (worker/access/config.ts): EDGELOG_TOKEN,
// EDGELOG_JWT_SECRET, EDGELOG_JWKS_URL or EDGELOG_JWT_PUBLIC_KEYS.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseEnv } from "node:util";
import { unstable_getVarsForDev, unstable_readConfig } from "wrangler";

const root = resolve(process.argv[2] ?? join(import.meta.dirname, ".."));
const CREDENTIALS = ["EDGELOG_TOKEN", "EDGELOG_JWT_SECRET", "EDGELOG_JWKS_URL", "EDGELOG_JWT_PUBLIC_KEYS"];

// The variables as `wrangler dev` will see them, read by wrangler itself: [vars], then .dev.vars
// (or .env and .env.local), and the process environment when CLOUDFLARE_INCLUDE_PROCESS_ENV=true.
const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
const merged = unstable_getVarsForDev(config.configPath, undefined, config.vars, undefined, true);
const text = (binding) => (typeof binding?.value === "string" ? binding.value : JSON.stringify(binding?.value ?? ""));
const vars = Object.fromEntries(Object.entries(merged).map(([k, binding]) => [k, text(binding)]));

/** Where a variable's value comes from, for the message (never the value itself). */
function sourceOf(name) {
  const inToml = config.vars?.[name];
  if (inToml !== undefined && text({ value: inToml }) === vars[name]) return "wrangler.toml";
  const files = existsSync(join(root, ".dev.vars")) ? [".dev.vars"] : [".env.local", ".env"];
  for (const file of files) {
    const path = join(root, file);
    if (existsSync(path) && parseEnv(readFileSync(path, "utf8"))[name] !== undefined) return file;
  }
  return "the environment";
}

/** Whether EDGELOG_JWT_PUBLIC_KEYS holds any key (as the worker reads it), or is unreadable. */
function publicKeys(text) {
  if (!text?.trim()) return { count: 0 };
  try {
    const parsed = JSON.parse(text);
    const keys = Array.isArray(parsed) ? parsed : parsed?.keys;
    return Array.isArray(keys) ? { count: keys.length } : { invalid: true };
  } catch {
    return { invalid: true };
  }
}

const keys = publicKeys(vars.EDGELOG_JWT_PUBLIC_KEYS);
const set = CREDENTIALS.filter((name) =>
  name === "EDGELOG_JWT_PUBLIC_KEYS" ? keys.count > 0 || keys.invalid : Boolean(vars[name]?.trim()),
);

// Where `npm start` listens (its --ip and --port).
let address = "127.0.0.1:8787";
try {
  const start = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts?.start ?? "";
  const ip = /--ip[= ](\S+)/.exec(start)?.[1] ?? "127.0.0.1";
  const port = /--port[= ](\d+)/.exec(start)?.[1] ?? "8787";
  address = `${ip}:${port}`;
} catch {
  // no package.json: the defaults
}

const lines = [];
if (set.length === 0) {
  lines.push(
    `edgelog: auth is OFF — local development is open to anyone who can reach ${address}`,
    "         (set EDGELOG_TOKEN in .dev.vars, or EDGELOG_JWT_SECRET for minted tokens, to turn it on)",
  );
} else {
  lines.push(`edgelog: auth is ON — ${set.map((name) => `${name} (${sourceOf(name)})`).join(", ")}: every /v1 request needs a credential`);
  if (keys.invalid)
    lines.push("edgelog: warning: EDGELOG_JWT_PUBLIC_KEYS is not a JWKS or an array of JWKs: the worker will fail every request");
}
const origins = (vars.EDGELOG_CORS_ORIGINS ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
lines.push(
  origins.length === 0
    ? "edgelog: cross-origin: none — only pages served by the worker itself may call it (set EDGELOG_CORS_ORIGINS to allow others)"
    : `edgelog: cross-origin: pages from ${origins.join(", ")} may call the API and open WebSockets`,
);
console.log(lines.join("\n"));
