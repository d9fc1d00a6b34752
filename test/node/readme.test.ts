/**
 * The README is the newcomer's reference: it must keep the two commands and every error code.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../protocol/errors";

const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

describe("the README", () => {
  it("starts with the two quick-start commands", () => {
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
  });

  it.each(Object.keys(ERROR_CODES))("documents the error code %s", (code) => {
    expect(readme).toContain(`\`${code}\``);
  });
});
