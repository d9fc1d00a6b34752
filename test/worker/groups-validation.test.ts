/**
 * Bad input to the consumer-group routes: each answer is a JSON error with the right status and
 * code, and changes nothing (no member added, no generation bumped, no offset written, no reset
 * id used, no group listed).
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { groupApi, ok, type Answer } from "./group-helpers";
import { api, BASE, createTopic, expectError, uniqueTopic } from "./helpers";

const { describeGroup, storedOffsets, listedGroups } = groupApi(api);

type Case = { name: string; body: unknown; status: number; code: string };

/** POSTs `body` as JSON, or as raw text when it is a `{ raw }` wrapper (malformed JSON, empty body). */
function post(path: string, body: unknown): Promise<Response> {
  if (typeof body === "object" && body !== null && "raw" in body) {
    const raw = (body as { raw: string | null }).raw;
    return SELF.fetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: raw });
  }
  return api(path, { method: "POST", json: body });
}

const join = (group: string, body: unknown) => post(`/v1/groups/${group}/members`, body);
const commit = (group: string, body: unknown) => post(`/v1/groups/${group}/offsets`, body);
const reset = (group: string, body: unknown) => post(`/v1/groups/${group}/offsets/reset`, body);

/** Runs every case, asserting its error and that the group looks exactly as before after each. */
async function refuseAll(cases: Case[], send: (body: unknown) => Promise<Response>, snapshot: () => Promise<unknown>): Promise<void> {
  const before = await snapshot();
  for (const c of cases) {
    const res = await send(c.body);
    try {
      await expectError(res, c.status, c.code);
    } catch (err) {
      throw new Error(`${c.name}: ${(err as Error).message}`);
    }
    expect(await snapshot(), `after ${c.name}`).toEqual(before);
  }
}

describe("group ids", () => {
  const bad = [
    ["a space", "bad%20id"],
    ["a star", "a*b"],
    ["a non-ASCII letter", "caf%C3%A9"],
    ["250 characters", "g".repeat(250)],
  ] as const;

  for (const [what, id] of bad) {
    it(`a group id with ${what} is 400 INVALID_GROUP_ID on every group route, and no group is created or listed`, async () => {
      const topic = uniqueTopic("gid");
      await createTopic(topic, 1);
      const member = crypto.randomUUID();
      const calls: [string, Promise<Response>][] = [
        ["join", join(id, { topics: [topic] })],
        ["heartbeat", post(`/v1/groups/${id}/members/${member}/heartbeat`, {})],
        ["leave", api(`/v1/groups/${id}/members/${member}`, { method: "DELETE" })],
        ["commit", commit(id, { memberId: member, generation: 1, offsets: [{ topic, partition: 0, offset: 0 }] })],
        ["offsets", api(`/v1/groups/${id}/offsets`)],
        ["reset", reset(id, { topics: [topic], to: "earliest" })],
        ["describe", api(`/v1/groups/${id}`)],
        ["delete", api(`/v1/groups/${id}`, { method: "DELETE" })],
      ];
      for (const [route, res] of calls) {
        const error = await expectError(await res, 400, "INVALID_GROUP_ID");
        expect(error.message, route).toContain("group id");
      }
      expect((await listedGroups()).filter((g) => g.includes("*") || g.includes(" ") || g.length > 249)).toEqual([]);
    });
  }

  it("a group id of 249 characters from [a-zA-Z0-9._-] is valid", async () => {
    const id = "G.a-_9".repeat(50).slice(0, 249);
    expect(id).toHaveLength(249);
    expect(await storedOffsets(id)).toEqual([]);
  });
});

describe("join", () => {
  it("a malformed join is refused with its code (400, or 404 for an unknown topic) and adds no member, bumps no generation, lists no group", async () => {
    const topic = uniqueTopic("join");
    await createTopic(topic, 2);
    const unknown = uniqueTopic("missing");
    const cases: Case[] = [
      { name: "no body", body: { raw: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "not JSON", body: { raw: "{topics:" }, status: 400, code: "INVALID_REQUEST" },
      { name: "a JSON array", body: [topic], status: 400, code: "INVALID_REQUEST" },
      { name: "no topics", body: {}, status: 400, code: "INVALID_REQUEST" },
      { name: "empty topics", body: { topics: [] }, status: 400, code: "INVALID_REQUEST" },
      { name: "topics a string", body: { topics: topic }, status: 400, code: "INVALID_REQUEST" },
      { name: "topics an object", body: { topics: { [topic]: true } }, status: 400, code: "INVALID_REQUEST" },
      { name: "topics null", body: { topics: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "101 topics", body: { topics: Array.from({ length: 101 }, () => topic) }, status: 400, code: "INVALID_REQUEST" },
      { name: "a topic not a string", body: { topics: [5] }, status: 400, code: "INVALID_TOPIC_EXCEPTION" },
      { name: "an illegal topic name", body: { topics: ["a/b"] }, status: 400, code: "INVALID_TOPIC_EXCEPTION" },
      { name: "an unknown topic", body: { topics: [unknown] }, status: 404, code: "UNKNOWN_TOPIC_OR_PARTITION" },
      { name: "a known and an unknown topic", body: { topics: [topic, unknown] }, status: 404, code: "UNKNOWN_TOPIC_OR_PARTITION" },
      { name: "an empty instanceId", body: { topics: [topic], instanceId: "" }, status: 400, code: "INVALID_REQUEST" },
      { name: "a numeric instanceId", body: { topics: [topic], instanceId: 7 }, status: 400, code: "INVALID_REQUEST" },
      { name: "an object instanceId", body: { topics: [topic], instanceId: {} }, status: 400, code: "INVALID_REQUEST" },
      { name: "a 250-character instanceId", body: { topics: [topic], instanceId: "i".repeat(250) }, status: 400, code: "INVALID_REQUEST" },
      { name: "sessionTimeoutMs 999", body: { topics: [topic], sessionTimeoutMs: 999 }, status: 400, code: "INVALID_SESSION_TIMEOUT" },
      {
        name: "sessionTimeoutMs 1800001",
        body: { topics: [topic], sessionTimeoutMs: 1_800_001 },
        status: 400,
        code: "INVALID_SESSION_TIMEOUT",
      },
      { name: "sessionTimeoutMs 0", body: { topics: [topic], sessionTimeoutMs: 0 }, status: 400, code: "INVALID_SESSION_TIMEOUT" },
      {
        name: "sessionTimeoutMs negative",
        body: { topics: [topic], sessionTimeoutMs: -45_000 },
        status: 400,
        code: "INVALID_SESSION_TIMEOUT",
      },
      {
        name: "sessionTimeoutMs a float",
        body: { topics: [topic], sessionTimeoutMs: 1_500.5 },
        status: 400,
        code: "INVALID_SESSION_TIMEOUT",
      },
      {
        name: "sessionTimeoutMs a string",
        body: { topics: [topic], sessionTimeoutMs: "5000" },
        status: 400,
        code: "INVALID_SESSION_TIMEOUT",
      },
      { name: "sessionTimeoutMs null", body: { topics: [topic], sessionTimeoutMs: null }, status: 400, code: "INVALID_SESSION_TIMEOUT" },
      { name: "an unknown assignor", body: { topics: [topic], assignor: "cooperative-sticky" }, status: 400, code: "UNSUPPORTED_ASSIGNOR" },
      { name: "an assignor in capitals", body: { topics: [topic], assignor: "RANGE" }, status: 400, code: "UNSUPPORTED_ASSIGNOR" },
      { name: "an empty assignor", body: { topics: [topic], assignor: "" }, status: 400, code: "UNSUPPORTED_ASSIGNOR" },
      { name: "a numeric assignor", body: { topics: [topic], assignor: 1 }, status: 400, code: "UNSUPPORTED_ASSIGNOR" },
      { name: "an unknown field", body: { topics: [topic], groupInstanceId: "x" }, status: 400, code: "INVALID_REQUEST" },
      { name: "a memberId field", body: { topics: [topic], memberId: crypto.randomUUID() }, status: 400, code: "INVALID_REQUEST" },
    ];

    // On a group never used: it stays unused and unlisted.
    const fresh = uniqueTopic("g-join-fresh");
    await refuseAll(
      cases,
      (body) => join(fresh, body),
      () => describeGroup(fresh),
    );
    expect(await describeGroup(fresh)).toMatchObject({ state: "Empty", generation: 0, members: [] });
    expect(await listedGroups()).not.toContain(fresh);

    // On a group with a member: no member added, no generation bumped, no partition moved.
    const busy = uniqueTopic("g-join-busy");
    const a = await ok<Answer>(await join(busy, { topics: [topic] }));
    await refuseAll(
      cases,
      (body) => join(busy, body),
      () => describeGroup(busy),
    );
    const hb = await ok<Answer>(await post(`/v1/groups/${busy}/members/${a.memberId}/heartbeat`, {}));
    expect(hb).toMatchObject({ generation: 1, assignment: a.assignment, pending: [] });
  });

  it("the bounds themselves are accepted: sessionTimeoutMs 1000 and 1800000, a 249-character instanceId, a null instanceId and assignor, a topic named twice", async () => {
    const topic = uniqueTopic("bounds");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-bounds");
    const bodies = [
      { topics: [topic], sessionTimeoutMs: 1_000 },
      { topics: [topic], sessionTimeoutMs: 1_800_000 },
      { topics: [topic], instanceId: "i".repeat(249) },
      { topics: [topic], instanceId: null, assignor: null },
      { topics: [topic, topic] },
    ];
    for (const body of bodies) {
      const answer = await ok<Answer & { sessionTimeoutMs: number }>(await join(group, body));
      if (body.sessionTimeoutMs) expect(answer.sessionTimeoutMs).toBe(body.sessionTimeoutMs);
    }
    const described = await ok<{ members: { topics: string[] }[] }>(await api(`/v1/groups/${group}`));
    expect(described.members).toHaveLength(5);
    expect(described.members.every((m) => m.topics.length === 1)).toBe(true);
  });
});

describe("heartbeat", () => {
  it("a heartbeat whose body is not empty, not {} or not an object is 400 INVALID_REQUEST and releases nothing", async () => {
    const topic = uniqueTopic("hb");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-hb");
    const a = await ok<Answer>(await join(group, { topics: [topic] }));
    const b = await ok<Answer>(await join(group, { topics: [topic] }));
    // a hears of b: told to give up one partition, which it still owns until its next (valid) heartbeat.
    const told = await ok<Answer>(await post(`/v1/groups/${group}/members/${a.memberId}/heartbeat`, {}));
    expect(told.assignment).toHaveLength(1);
    const moving = b.pending[0];
    const path = `/v1/groups/${group}/members/${a.memberId}/heartbeat`;
    const cases: Case[] = [
      { name: "an unknown field", body: { memberId: a.memberId }, status: 400, code: "INVALID_REQUEST" },
      { name: "another unknown field", body: { generation: 2 }, status: 400, code: "INVALID_REQUEST" },
      { name: "not JSON", body: { raw: "hello" }, status: 400, code: "INVALID_REQUEST" },
      { name: "a JSON array", body: [], status: 400, code: "INVALID_REQUEST" },
      { name: "JSON null", body: { raw: "null" }, status: 400, code: "INVALID_REQUEST" },
    ];
    await refuseAll(
      cases,
      (body) => post(path, body),
      () => describeGroup(group),
    );
    // The refused heartbeats released nothing: a may still commit the partition it is giving up.
    expect(
      await ok(await commit(group, { memberId: a.memberId, generation: told.generation, offsets: [{ ...moving, offset: 0 }] })),
    ).toEqual({ committed: 1 });
    // An empty body and {} are both a heartbeat.
    expect((await ok<Answer>(await post(path, { raw: null }))).generation).toBe(told.generation);
    expect((await ok<Answer>(await post(path, {}))).generation).toBe(told.generation);
    await expectError(await post(`/v1/groups/${group}/members/${crypto.randomUUID()}/heartbeat`, {}), 404, "UNKNOWN_MEMBER_ID");
  });
});

describe("commit", () => {
  it("a malformed commit is refused with its code and stores nothing", async () => {
    const topic = uniqueTopic("commit");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-commit");
    const a = await ok<Answer>(await join(group, { topics: [topic] }));
    const { memberId, generation } = a;
    expect(await ok(await commit(group, { memberId, generation, offsets: [{ topic, partition: 0, offset: 1 }] }))).toEqual({
      committed: 1,
    });
    const entry = { topic, partition: 1, offset: 5 };
    const base = { memberId, generation };
    const cases: Case[] = [
      { name: "no body", body: { raw: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "not JSON", body: { raw: "[{" }, status: 400, code: "INVALID_REQUEST" },
      { name: "an empty object", body: {}, status: 400, code: "INVALID_REQUEST" },
      { name: "no memberId", body: { generation, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      { name: "an empty memberId", body: { memberId: "", generation, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a numeric memberId", body: { memberId: 5, generation, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      { name: "no generation", body: { memberId, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      {
        name: "a string generation",
        body: { memberId, generation: String(generation), offsets: [entry] },
        status: 400,
        code: "INVALID_REQUEST",
      },
      {
        name: "a float generation",
        body: { memberId, generation: generation + 0.5, offsets: [entry] },
        status: 400,
        code: "INVALID_REQUEST",
      },
      { name: "a negative generation", body: { memberId, generation: -1, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a null generation", body: { memberId, generation: null, offsets: [entry] }, status: 400, code: "INVALID_REQUEST" },
      { name: "no offsets", body: base, status: 400, code: "INVALID_REQUEST" },
      { name: "offsets an object", body: { ...base, offsets: entry }, status: 400, code: "INVALID_REQUEST" },
      { name: "offsets a string", body: { ...base, offsets: "5" }, status: 400, code: "INVALID_REQUEST" },
      { name: "offsets null", body: { ...base, offsets: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "empty offsets", body: { ...base, offsets: [] }, status: 400, code: "INVALID_REQUEST" },
      { name: "an entry not an object", body: { ...base, offsets: [5] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a null entry", body: { ...base, offsets: [null] }, status: 400, code: "INVALID_REQUEST" },
      { name: "an array entry", body: { ...base, offsets: [[topic, 1, 5]] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a negative offset", body: { ...base, offsets: [{ ...entry, offset: -1 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a float offset", body: { ...base, offsets: [{ ...entry, offset: 2.5 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a string offset", body: { ...base, offsets: [{ ...entry, offset: "5" }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "no offset", body: { ...base, offsets: [{ topic, partition: 1 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "an offset past 2^53", body: { ...base, offsets: [{ ...entry, offset: 2 ** 53 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a negative partition", body: { ...base, offsets: [{ ...entry, partition: -1 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a float partition", body: { ...base, offsets: [{ ...entry, partition: 0.5 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "a string partition", body: { ...base, offsets: [{ ...entry, partition: "1" }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "no topic", body: { ...base, offsets: [{ partition: 1, offset: 5 }] }, status: 400, code: "INVALID_TOPIC_EXCEPTION" },
      {
        name: "an illegal topic name",
        body: { ...base, offsets: [{ ...entry, topic: "a b" }] },
        status: 400,
        code: "INVALID_TOPIC_EXCEPTION",
      },
      {
        name: "an unknown topic",
        body: { ...base, offsets: [{ ...entry, topic: uniqueTopic("missing") }] },
        status: 404,
        code: "UNKNOWN_TOPIC_OR_PARTITION",
      },
      {
        name: "a partition out of range",
        body: { ...base, offsets: [{ ...entry, partition: 2 }] },
        status: 404,
        code: "UNKNOWN_TOPIC_OR_PARTITION",
      },
      {
        name: "metadata over 4096 characters",
        body: { ...base, offsets: [{ ...entry, metadata: "m".repeat(4_097) }] },
        status: 400,
        code: "OFFSET_METADATA_TOO_LARGE",
      },
      { name: "numeric metadata", body: { ...base, offsets: [{ ...entry, metadata: 5 }] }, status: 400, code: "INVALID_REQUEST" },
      { name: "object metadata", body: { ...base, offsets: [{ ...entry, metadata: { a: 1 } }] }, status: 400, code: "INVALID_REQUEST" },
      {
        name: "the same partition twice",
        body: { ...base, offsets: [entry, { ...entry, offset: 6 }] },
        status: 400,
        code: "INVALID_REQUEST",
      },
      { name: "an unknown entry field", body: { ...base, offsets: [{ ...entry, leaderEpoch: 0 }] }, status: 400, code: "INVALID_REQUEST" },
      {
        name: "an unknown top-level field",
        body: { ...base, offsets: [entry], groupInstanceId: null },
        status: 400,
        code: "INVALID_REQUEST",
      },
      {
        name: "a good entry then a bad one",
        body: {
          ...base,
          offsets: [
            { topic, partition: 0, offset: 9 },
            { ...entry, offset: -5 },
          ],
        },
        status: 400,
        code: "INVALID_REQUEST",
      },
      {
        name: "a good entry then an unknown partition",
        body: {
          ...base,
          offsets: [
            { topic, partition: 0, offset: 9 },
            { ...entry, partition: 7 },
          ],
        },
        status: 404,
        code: "UNKNOWN_TOPIC_OR_PARTITION",
      },
    ];
    await refuseAll(
      cases,
      (body) => commit(group, body),
      () => storedOffsets(group),
    );
    expect(await storedOffsets(group)).toEqual([{ topic, partition: 0, offset: 1, metadata: null, resetId: 0 }]);
    // Metadata of exactly 4096 characters, and a null one, are fine.
    expect(
      await ok(
        await commit(group, {
          ...base,
          offsets: [
            { ...entry, metadata: "m".repeat(4_096) },
            { topic, partition: 0, offset: 2, metadata: null },
          ],
        }),
      ),
    ).toEqual({ committed: 2 });
    expect((await storedOffsets(group)).map((o) => o.metadata?.length ?? null)).toEqual([null, 4_096]);
    expect((await describeGroup(group)).generation).toBe(generation);
  });
});

describe("reset", () => {
  it('a reset with a bad "to", bad topics or unknown fields is refused with its code, changes no offset and uses no reset id', async () => {
    const topic = uniqueTopic("reset");
    await createTopic(topic, 1);
    await api(`/v1/topics/${topic}/records`, { method: "POST", json: { records: [{ value: "a" }, { value: "b" }] } }).then((res) =>
      ok(res),
    );
    const group = uniqueTopic("g-reset");
    expect(await ok(await reset(group, { topics: [topic], to: { offset: 1 } }))).toEqual({
      resetId: 1,
      offsets: [{ topic, partition: 0, offset: 1 }],
    });
    const cases: Case[] = [
      { name: "no body", body: { raw: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "not JSON", body: { raw: "earliest" }, status: 400, code: "INVALID_REQUEST" },
      { name: "no to", body: { topics: [topic] }, status: 400, code: "INVALID_REQUEST" },
      { name: "to an unknown word", body: { to: "middle" }, status: 400, code: "INVALID_REQUEST" },
      { name: "to in capitals", body: { to: "EARLIEST" }, status: 400, code: "INVALID_REQUEST" },
      { name: "to null", body: { to: null }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a number", body: { to: 1 }, status: 400, code: "INVALID_REQUEST" },
      { name: "to an array", body: { to: ["earliest"] }, status: 400, code: "INVALID_REQUEST" },
      { name: "to an empty object", body: { to: {} }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a negative offset", body: { to: { offset: -1 } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a float offset", body: { to: { offset: 1.5 } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a string offset", body: { to: { offset: "1" } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a string timestamp", body: { to: { timestamp: "2024-01-01" } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to a negative timestamp", body: { to: { timestamp: -5 } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to both an offset and a timestamp", body: { to: { offset: 1, timestamp: 2 } }, status: 400, code: "INVALID_REQUEST" },
      { name: "to an unknown key", body: { to: { position: 1 } }, status: 400, code: "INVALID_REQUEST" },
      { name: "an unknown field", body: { to: "earliest", dryRun: true }, status: 400, code: "INVALID_REQUEST" },
      { name: "topics a string", body: { topics: topic, to: "earliest" }, status: 400, code: "INVALID_REQUEST" },
      { name: "an illegal topic name", body: { topics: ["a/b"], to: "earliest" }, status: 400, code: "INVALID_TOPIC_EXCEPTION" },
      {
        name: "an unknown topic",
        body: { topics: [topic, uniqueTopic("missing")], to: "earliest" },
        status: 404,
        code: "UNKNOWN_TOPIC_OR_PARTITION",
      },
    ];
    await refuseAll(
      cases,
      (body) => reset(group, body),
      () => storedOffsets(group),
    );
    // No reset id was used by the refusals.
    expect(await ok(await reset(group, { to: "earliest" }))).toEqual({ resetId: 2, offsets: [{ topic, partition: 0, offset: 0 }] });
  });
});
