// Says, before `npm start`, whether the local worker will ask for credentials, and which origins
// may call it cross-origin. It reads what `wrangler dev` reads: wrangler.toml's [vars], then
// .dev.vars (or, when there is none, .env and .env.local), which win. It never prints a secret's value.
//
//   node scripts/access-mode.mjs [project-dir]
//
// Auth is on as soon as a credential is configured (worker/access/config.ts): EDGELOG_TOKEN,
// EDGELOG_JWT_SECRET, EDGELOG_JWKS_URL or EDGELOG_JWT_PUBLIC_KEYS.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? join(import.meta.dirname, ".."));
const CREDENTIALS = ["EDGELOG_TOKEN", "EDGELOG_JWT_SECRET", "EDGELOG_JWKS_URL", "EDGELOG_JWT_PUBLIC_KEYS"];

/** The [vars] table of a wrangler.toml: strings only (basic, literal, and their multi-line forms). */
function tomlVars(text) {
  const vars = {};
  const lines = text.split(/\r?\n/);
  let inVars = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.startsWith("[")) {
      inVars = /^\[\s*vars\s*\]/.test(line);
      continue;
    }
    if (!inVars) continue;
    const m = /^([A-Za-z0-9_-]+|"[^"]*")\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1].replace(/^"|"$/g, "");
    let rest = m[2];
    const fence = rest.startsWith('"""') ? '"""' : rest.startsWith("'''") ? "'''" : null;
    if (fence) {
      rest = rest.slice(3);
      const parts = [];
      while (!rest.includes(fence) && i + 1 < lines.length) {
        parts.push(rest);
        rest = lines[++i];
      }
      parts.push(rest.slice(0, rest.indexOf(fence)));
      vars[key] = parts.join("\n").replace(/^\n/, "");
    } else if (rest.startsWith('"')) {
      vars[key] = JSON.parse(/^"(?:[^"\\]|\\.)*"/.exec(rest)?.[0] ?? '""');
    } else if (rest.startsWith("'")) {
      vars[key] = /^'([^']*)'/.exec(rest)?.[1] ?? "";
    } else {
      vars[key] = rest.replace(/\s+#.*$/, "").trim();
    }
  }
  return vars;
}

/** A .dev.vars or .env file (dotenv: KEY=value, optional export, quotes, comments). */
function dotenv(text) {
  const vars = {};
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(raw);
    if (!m) continue;
    let value = m[2].trim();
    if (value.startsWith('"') && value.lastIndexOf('"') > 0) value = value.slice(1, value.lastIndexOf('"')).replace(/\\n/g, "\n");
    else if (value.startsWith("'") && value.lastIndexOf("'") > 0) value = value.slice(1, value.lastIndexOf("'"));
    else value = value.replace(/\s+#.*$/, "");
    vars[m[1]] = value;
  }
  return vars;
}

const read = (name) => {
  const path = join(root, name);
  return existsSync(path) ? readFileSync(path, "utf8") : null;
};

const toml = read("wrangler.toml");
const vars = toml ? tomlVars(toml) : {};
const from = Object.fromEntries(Object.keys(vars).map((k) => [k, "wrangler.toml"]));
// As wrangler dev: .dev.vars when it exists; else .env then .env.local (unless
// CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV=false); process.env over them with CLOUDFLARE_INCLUDE_PROCESS_ENV=true.
const overlay = (source, entries) => {
  for (const [k, v] of Object.entries(entries)) {
    vars[k] = v;
    from[k] = source;
  }
};
if (read(".dev.vars") !== null) overlay(".dev.vars", dotenv(read(".dev.vars")));
else {
  if (process.env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV !== "false") {
    for (const name of [".env", ".env.local"]) if (read(name) !== null) overlay(name, dotenv(read(name)));
  }
  if (process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV === "true") {
    overlay("the environment", Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("EDGELOG_"))));
  }
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
  lines.push(`edgelog: auth is ON — ${set.map((name) => `${name} (${from[name]})`).join(", ")}: every /v1 request needs a credential`);
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
