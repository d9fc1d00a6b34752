import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Two projects, one `npm test`:
// - "workers": Durable Objects, routes and storage, inside workerd (real SQLite, RPC, alarms).
// - "node": the runtime-free codec and logic, and clients against a real `wrangler dev`.
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              compatibilityFlags: ["nodejs_compat"],
              // The fault-injection switch (worker/partition/faults.ts) exists in tests only.
              bindings: { EDGELOG_FAULT_INJECTION: "on" },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/protocol/**/*.test.ts", "test/node/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
