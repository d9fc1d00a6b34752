/**
 * Node project setup: wraps globalThis.fetch so every answer from a local edgelog server
 * (http://127.0.0.1:<port> or localhost) — from callJson, the web-client, or a bare fetch — is
 * checked against that server's own /v1/openapi.json. Other hosts pass through unchecked.
 */
import { inject } from "vitest";
import { checkResponse, ContractRecorder, contractMode } from "./contract";
import { installContractHooks } from "./contract-hooks";

declare module "vitest" {
  export interface ProvidedContext {
    edgelogContract: string;
  }
}

const recorder = new ContractRecorder(contractMode(inject("edgelogContract")));
const original = globalThis.fetch;
const LOCAL = /^http:\/\/(127\.0\.0\.1|localhost):\d+$/;

globalThis.fetch = async function contractFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : undefined;
  const url = request ? request.url : String(input);
  const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
  const res = await original(input, init);
  const { origin } = new URL(url);
  if (!LOCAL.test(origin)) return res;
  // The document is read with the request's own credentials, in case the server wants a token.
  const auth = new Headers(init?.headers ?? request?.headers).get("authorization");
  const load = async () => {
    const doc = await original(`${origin}/v1/openapi.json`, auth ? { headers: { authorization: auth } } : {});
    if (doc.status !== 200) throw new Error(`GET /v1/openapi.json answered ${doc.status}`);
    return doc.json();
  };
  await recorder.track(checkResponse(recorder, () => recorder.checker(origin, load), method, url, res));
  return res;
};

installContractHooks(recorder);

/** The recorder of this test file, so a test can see that answers are being checked. */
export const contractRecorder = recorder;
