/**
 * scripts/access-mode.mjs (run by `npm start`'s prestart): it says whether auth is on from what
 * `wrangler dev` reads — wrangler.toml [vars], then .dev.vars (or .env when there is none), which
 * win — names the credentials that turn it on and where they are set, never their values, and
 * lists the origins allowed cross-origin.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = resolve(import.meta.dirname, "../../scripts/access-mode.mjs");

const TOML = (vars: string) => `name = "edgelog"\nmain = "worker/index.ts"\n\n[assets]\ndirectory = "./public"\n\n[vars]\n${vars}\n`;

function run(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "edgelog-access-mode-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  // Without the variables that make wrangler (and so the script) read the environment too.
  const env = { ...process.env };
  delete env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
  delete env.CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV;
  return execFileSync(process.execPath, [SCRIPT, dir], { encoding: "utf8", env });
}

describe("npm start's access mode message", () => {
  it("says auth is off, and where the worker listens, when no credential is configured", () => {
    const out = run({
      "wrangler.toml": TOML('EDGELOG_TOKEN = ""\nEDGELOG_JWT_SECRET = ""\nEDGELOG_JWT_PUBLIC_KEYS = ""\nEDGELOG_CORS_ORIGINS = ""'),
      "package.json": JSON.stringify({ scripts: { start: "wrangler dev --ip 127.0.0.1 --port 9876" } }),
    });
    expect(out).toContain("auth is OFF — local development is open to anyone who can reach 127.0.0.1:9876");
    expect(out).toContain("EDGELOG_TOKEN");
    expect(out).toContain("cross-origin: none");
  });

  it("says auth is on, naming the credential and its file but never its value", () => {
    const out = run({
      "wrangler.toml": TOML('EDGELOG_TOKEN = ""'),
      ".dev.vars": 'EDGELOG_TOKEN="dev-s3cret-value"\nEDGELOG_CORS_ORIGINS=http://127.0.0.1:5173, https://app.example\n',
    });
    expect(out).toContain("auth is ON — EDGELOG_TOKEN (.dev.vars)");
    expect(out).not.toContain("OFF");
    expect(out).not.toContain("dev-s3cret-value");
    expect(out).toContain("cross-origin: pages from http://127.0.0.1:5173, https://app.example may call the API");
  });

  it("reads wrangler.toml [vars] (only that table), with .dev.vars winning, and .env only when there is no .dev.vars", () => {
    const toml = TOML("EDGELOG_JWT_SECRET = 'toml-s3cret' # a comment") + '\n[env.prod.vars]\nEDGELOG_TOKEN = "prod-only"\n';
    const fromToml = run({ "wrangler.toml": toml });
    expect(fromToml).toContain("auth is ON — EDGELOG_JWT_SECRET (wrangler.toml)");
    expect(fromToml).not.toContain("EDGELOG_TOKEN (");
    expect(fromToml).not.toContain("toml-s3cret");

    expect(run({ "wrangler.toml": toml, ".dev.vars": "EDGELOG_JWT_SECRET=\n" })).toContain("auth is OFF");
    expect(run({ "wrangler.toml": TOML(""), ".env": "export EDGELOG_JWKS_URL=https://id.example/jwks\n" })).toContain(
      "auth is ON — EDGELOG_JWKS_URL (.env)",
    );
    expect(run({ "wrangler.toml": TOML(""), ".dev.vars": "# none\n", ".env": "EDGELOG_TOKEN=x\n" })).toContain("auth is OFF");
    expect(run({ "wrangler.toml": TOML(""), ".env": "EDGELOG_TOKEN=x\n", ".env.local": "EDGELOG_TOKEN=\n" })).toContain("auth is OFF");
  });

  it("counts EDGELOG_JWT_PUBLIC_KEYS as the worker does: an empty key list is no credential, an unreadable one is a warning", () => {
    expect(run({ "wrangler.toml": TOML(`EDGELOG_JWT_PUBLIC_KEYS = '{"keys": []}'`) })).toContain("auth is OFF");
    const multiLine = TOML(`EDGELOG_JWT_PUBLIC_KEYS = '''\n{"keys": [{"kty": "EC", "kid": "k1"}]}\n'''`);
    expect(run({ "wrangler.toml": multiLine })).toContain("auth is ON — EDGELOG_JWT_PUBLIC_KEYS (wrangler.toml)");
    const broken = run({ "wrangler.toml": TOML(`EDGELOG_JWT_PUBLIC_KEYS = "not json"`) });
    expect(broken).toContain("auth is ON");
    expect(broken).toContain("warning: EDGELOG_JWT_PUBLIC_KEYS is not a JWKS");
  });
});
