import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ContractReporter } from "./test/support/contract-reporter";

// The contract test (test/support/contract.ts): every answer the suites get is checked against
// /v1/openapi.json. "strict" fails the test that got an undescribed answer; "report" lists them
// at the end instead. Strict by default: only EDGELOG_CONTRACT=report relaxes it.
const contract = process.env.EDGELOG_CONTRACT ?? "strict";

// Two projects, one `npm test`:
// - "workers": Durable Objects, routes and storage, inside workerd (real SQLite, RPC, alarms).
// - "node": the runtime-free codec and logic, and clients against a real `wrangler dev`.
export default defineConfig({
  test: {
    reporters: ["default", new ContractReporter(contract)],
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
          setupFiles: ["./test/worker/contract-setup.ts"],
          provide: { edgelogContract: contract },
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          environment: "node",
          include: ["test/protocol/**/*.test.ts", "test/node/**/*.test.ts"],
          setupFiles: ["./test/support/contract-setup.node.ts"],
          provide: { edgelogContract: contract },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
