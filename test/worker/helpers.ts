/**
 * Small helpers shared by the workers-pool tests: the API over SELF.fetch, with JSON in and out.
 *
 * Storage is isolated per test file, not per test: give every test its own topic names
 * (`uniqueTopic("delete")`).
 *
 * Every answer of the worker (through api(), a bare SELF.fetch or worker.fetch) is checked against
 * /v1/openapi.json by ./contract-setup.ts (a vitest setup file); see test/support/contract.ts.
 */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const BASE = "http://edgelog.test";

export interface ApiInit extends Omit<RequestInit, "body"> {
  /** A JSON value to send (serialised, with content-type), or a raw body. */
  json?: unknown;
  body?: BodyInit | null;
}

/** Calls the worker at `path` (e.g. "/v1/topics"); `json` is sent as a JSON body. */
export function api(path: string, init: ApiInit = {}): Promise<Response> {
  const { json, headers, ...rest } = init;
  const h = new Headers(headers);
  if (json !== undefined) {
    h.set("content-type", "application/json");
    return SELF.fetch(`${BASE}${path}`, { ...rest, headers: h, body: JSON.stringify(json) });
  }
  return SELF.fetch(`${BASE}${path}`, { ...rest, headers: h });
}

let counter = 0;
/** A topic name no other test in this file uses. */
export function uniqueTopic(prefix: string): string {
  counter++;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Creates a topic (asserting 201) and answers its description. */
export async function createTopic(
  name: string,
  partitions = 1,
  config?: Record<string, unknown>,
  replicationFactor?: number,
): Promise<TopicDescription> {
  const res = await api("/v1/topics", {
    method: "POST",
    json: { name, partitions, ...(config ? { config } : {}), ...(replicationFactor ? { replicationFactor } : {}) },
  });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body as TopicDescription;
}

/** Describes a topic (asserting 200). */
export async function describeTopic(name: string): Promise<TopicDescription> {
  const res = await api(`/v1/topics/${name}`);
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as TopicDescription;
}

/** POSTs records to a topic; answers the raw Response (check its status yourself). */
export function produce(topic: string, records: unknown[], query = ""): Promise<Response> {
  return api(`/v1/topics/${topic}/records${query ? `?${query}` : ""}`, { method: "POST", json: { records } });
}

/** GETs records from a partition; `query` is e.g. "offset=0&maxRecords=10". */
export function fetchRecords(topic: string, partition: number, query = "offset=0"): Promise<Response> {
  return api(`/v1/topics/${topic}/partitions/${partition}/records${query ? `?${query}` : ""}`);
}

/** Asserts the JSON error shape, status and code; answers the error for further checks. */
export async function expectError(
  res: Response,
  status: number,
  code: string,
): Promise<{ code: string; message: string; retriable: boolean }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type") ?? "").toContain("application/json");
  const body = JSON.parse(text) as { error: { code: string; message: string; retriable: boolean } };
  expect(body.error).toMatchObject({ code, message: expect.any(String), retriable: expect.any(Boolean) });
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "retriable"]);
  return body.error;
}

export interface PartitionDescription {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  leaderEpoch: number;
  logStartOffset: number;
  highWatermark: number;
  sizeBytes: number;
  regions: string[];
}

export interface TopicDescription {
  name: string;
  topicId: string;
  replicationFactor: number;
  partitions: PartitionDescription[];
  config: Record<string, unknown>;
}
