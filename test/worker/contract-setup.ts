/**
 * Workers project setup: every answer of the worker's fetch handler is checked against the
 * document the same worker serves at /v1/openapi.json.
 *
 * SELF (cloudflare:test) is a Proxy that reads the main module's default export on every access,
 * so it cannot be wrapped itself; the default export (the Hono app) is wrapped instead, which
 * covers SELF.fetch, api() in ./helpers and the tests that call `worker.fetch` directly.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import worker from "../../worker/index";
import { checkResponse, ContractRecorder, contractMode } from "../support/contract";
import { installContractHooks } from "../support/contract-hooks";

declare module "vitest" {
  export interface ProvidedContext {
    edgelogContract: string;
  }
}

const recorder = new ContractRecorder(contractMode(inject("edgelogContract")));
const original = worker.fetch;

async function loadDocument(): Promise<unknown> {
  const ctx = createExecutionContext();
  const res = await original(new Request("http://edgelog.test/v1/openapi.json"), env, ctx);
  await waitOnExecutionContext(ctx);
  if (res.status !== 200) throw new Error(`GET /v1/openapi.json answered ${res.status}`);
  return res.json();
}

const wrapped: typeof worker.fetch = async (request, ...rest) => {
  const res = await original(request, ...rest);
  await recorder.track(checkResponse(recorder, () => recorder.checker("worker", loadDocument), request.method, request.url, res));
  return res;
};
worker.fetch = wrapped;

installContractHooks(recorder);

/** The recorder of this isolate, so a test can see that answers are being checked. */
export const contractRecorder = recorder;
