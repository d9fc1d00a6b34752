/**
 * Types and helpers shared by the consumer-group tests (groups, groups-admin, groups-validation).
 *
 * The HTTP helpers come from `groupApi(call)`, over whichever way a file reaches the worker:
 * `api` from ./helpers (SELF.fetch), or groups.test.ts's own `api`, which calls the worker's fetch
 * handler directly (see there why).
 */
import { env } from "cloudflare:test";
import { expect } from "vitest";
import type { ApiInit } from "./helpers";

export interface TP {
  topic: string;
  partition: number;
}

/** A join or heartbeat answer. */
export interface Answer {
  memberId: string;
  generation: number;
  assignment: TP[];
  pending: TP[];
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
}

export interface GroupDescription {
  group: string;
  state: "Empty" | "Reconciling" | "Stable";
  generation: number;
  assignor: string | null;
  members: { memberId: string; instanceId: string | null; topics: string[]; sessionTimeoutMs: number; assignment: TP[] }[];
  partitions: { topic: string; partition: number; committed: number | null; highWatermark: number; lag: number }[];
}

export interface StoredOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
  resetId: number;
}

/** How a test file calls the API: a path such as "/v1/groups", and `json` sent as a JSON body. */
export type Call = (path: string, init?: ApiInit) => Promise<Response>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const sorted = (tps: TP[]) => [...tps].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));

export function groupStub(group: string) {
  return env.GROUP.get(env.GROUP.idFromName(group));
}

/** Asserts a 200 and answers the JSON body. */
export async function ok<T>(res: Response): Promise<T> {
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body as T;
}

/** Asserts a 200 answering `{ committed: count }`. */
export async function expectCommitted(res: Response, count: number): Promise<void> {
  expect(await ok(res)).toEqual({ committed: count });
}

/** The group routes over `call`: `…Res` answer the raw Response, the others assert a 200 and answer the body. */
export function groupApi(call: Call) {
  const joinRes = (group: string, body: unknown) => call(`/v1/groups/${group}/members`, { method: "POST", json: body });
  const heartbeatRes = (group: string, memberId: string) => call(`/v1/groups/${group}/members/${memberId}/heartbeat`, { method: "POST" });
  const commitRes = (group: string, memberId: string, generation: number, offsets: unknown) =>
    call(`/v1/groups/${group}/offsets`, { method: "POST", json: { memberId, generation, offsets } });
  return {
    joinRes,
    heartbeatRes,
    commitRes,
    join: async (group: string, body: unknown) => ok<Answer>(await joinRes(group, body)),
    heartbeat: async (group: string, memberId: string) => ok<Answer>(await heartbeatRes(group, memberId)),
    /** Commits at `member`'s generation, asserting every offset was stored. */
    commit: async (group: string, member: Answer, offsets: { topic: string; partition: number; offset: number; metadata?: string }[]) =>
      expectCommitted(await commitRes(group, member.memberId, member.generation, offsets), offsets.length),
    describeGroup: async (group: string) => ok<GroupDescription>(await call(`/v1/groups/${group}`)),
    storedOffsets: async (group: string) => (await ok<{ offsets: StoredOffset[] }>(await call(`/v1/groups/${group}/offsets`))).offsets,
    listedGroups: async () => (await ok<{ groups: { group: string }[] }>(await call("/v1/groups"))).groups.map((g) => g.group),
  };
}
