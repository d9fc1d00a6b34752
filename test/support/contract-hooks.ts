/**
 * The hooks both contract setup files share: after each test, the violations of the answers it
 * got fail it (strict) or are attached to it for the summary (report); after the file, the same
 * for answers received outside any test (beforeAll/afterAll).
 *
 * Violations travel to the reporter (test/support/contract-reporter.ts) as task meta, which works
 * from workerd as well as from Node.
 */
import { afterAll, afterEach } from "vitest";
import { formatViolation, type ContractRecorder, type Violation } from "./contract";

declare module "@vitest/runner" {
  interface TaskMeta {
    /** Answers this test (or, on a file, its hooks) got that the OpenAPI document does not describe. */
    contractViolations?: Violation[];
    /** How many answers the contract checker looked at. */
    contractChecked?: number;
  }
}

export function installContractHooks(recorder: ContractRecorder): void {
  afterEach(async ({ task }) => {
    const violations = await recorder.drain();
    if (violations.length === 0) return;
    task.meta.contractViolations = violations;
    if (recorder.mode === "strict") throw new ContractError(violations);
  });
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads hook fixtures from the first parameter's pattern
  afterAll(async ({}, suite) => {
    const violations = await recorder.drain();
    suite.meta.contractChecked = recorder.checked;
    if (violations.length === 0) return;
    suite.meta.contractViolations = violations;
    if (recorder.mode === "strict") throw new ContractError(violations);
  });
}

class ContractError extends Error {
  constructor(violations: Violation[]) {
    super(
      `${violations.length} answer(s) the OpenAPI document does not describe (EDGELOG_CONTRACT=report to list them instead of failing):\n` +
        violations.map(formatViolation).join("\n"),
    );
    this.name = "ContractViolation";
  }
}
