import { defineConfig } from "vitest/config";

// Browser tests: real Chromium (Debian's, installed by .ci/run) driven by playwright-core,
// against a real `wrangler dev`. Kept out of `npm test`, which needs nothing beyond Node.
export default defineConfig({
  test: {
    name: "browser",
    environment: "node",
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
