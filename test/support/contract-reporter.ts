/**
 * A vitest reporter that prints, at the end of the run, the deduplicated list of answers the
 * OpenAPI document does not describe (collected by the contract setup files as task meta), and
 * how many answers were checked. In strict mode the same violations have already failed their tests.
 */
import type { Reporter, TestModule } from "vitest/node";
import { dedupe, formatViolation, type Violation } from "./contract";

export class ContractReporter implements Reporter {
  readonly #mode: string;

  constructor(mode: string) {
    this.#mode = mode;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const violations: Violation[] = [];
    let checked = 0;
    for (const module of testModules) {
      const meta = module.meta();
      checked += meta.contractChecked ?? 0;
      violations.push(...(meta.contractViolations ?? []));
      for (const test of module.children.allTests()) violations.push(...(test.meta().contractViolations ?? []));
    }
    const unique = dedupe(violations);
    const out: string[] = [
      `\n[contract] ${checked} answers checked against /v1/openapi.json (mode: ${this.#mode}); ${violations.length} violations, ${unique.length} distinct`,
    ];
    for (const { key, count, example } of unique)
      out.push(`[contract] ×${count} ${key}\n[contract]     e.g. ${formatViolation(example).replace(/\n/g, "\n[contract]     ")}`);
    process.stdout.write(out.join("\n") + "\n");
  }
}
