/**
 * The contract check is wired into the workers project: answers reached through api(), a bare
 * SELF.fetch and the worker's own fetch handler are all checked against the document the worker
 * serves, and an answer the document does not describe is caught.
 */
import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { contractRecorder } from "./contract-setup";
import { api, BASE } from "./helpers";

describe("the contract check in the workers project", () => {
  it("checks every answer of api(), SELF.fetch and worker.fetch, and the test can still read the body", async () => {
    const before = contractRecorder.checked;
    const viaApi = await api("/v1/topics");
    expect(await viaApi.json()).toHaveProperty("topics");
    expect((await SELF.fetch(`${BASE}/v1/topics`)).status).toBe(200);
    const ctx = createExecutionContext();
    const direct = await worker.fetch(new Request(`${BASE}/v1/topics`), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(direct.status).toBe(200);
    // "/" is the static index, outside the contract.
    await (await SELF.fetch(`${BASE}/`)).text();
    expect(contractRecorder.checked - before).toBe(3);
    expect(await contractRecorder.drain()).toEqual([]);
  });

  it("checks an unknown route's answer too: only the document's Error answer 404 UNSUPPORTED_VERSION passes there", async () => {
    const before = contractRecorder.checked;
    const res = await api("/v1/no-such-route");
    expect(res.status).toBe(404);
    expect(contractRecorder.checked - before).toBe(1);
    expect(await contractRecorder.drain()).toEqual([]);
  });
});
