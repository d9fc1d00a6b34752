/**
 * Consumer-group administration over HTTP: describe (assignment, committed offsets, exact lag),
 * listing, offset resets of an empty group, deletion (offsets, listing and the object's storage),
 * and a group's state rebuilt from SQLite after every object is reset.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { replicaName } from "../../worker/controller/placement";
import type { Group } from "../../worker/group/group-do";
import { groupApi, groupStub, ok, sleep, sorted, type Answer, type GroupDescription } from "./group-helpers";
import { api, createTopic, describeTopic, expectError, uniqueTopic, type TopicDescription } from "./helpers";

const { join, heartbeat, commit, describeGroup, storedOffsets, listedGroups } = groupApi(api);

const HOUR = 3_600_000;

function leaderStub(topic: TopicDescription, partition = 0) {
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topic.topicId, partition, topic.partitions[partition].leader)));
}

async function leave(group: string, memberId: string): Promise<void> {
  await ok(await api(`/v1/groups/${group}/members/${memberId}`, { method: "DELETE" }));
}

function resetRes(group: string, body: unknown): Promise<Response> {
  return api(`/v1/groups/${group}/offsets/reset`, { method: "POST", json: body });
}

async function reset(
  group: string,
  body: unknown,
): Promise<{ resetId: number; offsets: { topic: string; partition: number; offset: number }[] }> {
  return ok(await resetRes(group, body));
}

async function produced(topic: string, records: unknown[]): Promise<{ partition: number; offset: number }[]> {
  return (
    await ok<{ offsets: { partition: number; offset: number }[] }>(
      await api(`/v1/topics/${topic}/records`, { method: "POST", json: { records } }),
    )
  ).offsets;
}

/** Heartbeats every member until the group is Stable (bounded); answers each member's latest answer. */
async function settle(group: string, members: Answer[]): Promise<Answer[]> {
  for (let round = 0; round < 20; round++) {
    members = await Promise.all(members.map((m) => heartbeat(group, m.memberId)));
    if ((await describeGroup(group)).state === "Stable") return Promise.all(members.map((m) => heartbeat(group, m.memberId)));
  }
  throw new Error(`group ${group} did not settle`);
}

/** The group object's tables (not workerd's own) with their row counts, and its alarm. */
function objectStorage(group: string) {
  return runInDurableObject(groupStub(group), async (_instance: Group, state) => {
    const names = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => r.name)
      .sort();
    const rows = Object.fromEntries(
      names.map((name) => [name, state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM "${name}"`).one().n]),
    );
    return { rows, alarm: await state.storage.getAlarm() };
  });
}

describe("describe", () => {
  it("describe reports each member with its assignment, and per partition the committed offset, the high watermark and the exact lag", async () => {
    const topic = uniqueTopic("lag");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-lag");
    await produced(
      topic,
      Array.from({ length: 7 }, (_, i) => ({ value: `p0-${i}`, partition: 0 })),
    );
    await produced(
      topic,
      Array.from({ length: 3 }, (_, i) => ({ value: `p1-${i}`, partition: 1 })),
    );
    const a = await join(group, { topics: [topic], instanceId: "reader", sessionTimeoutMs: 30_000 });
    await commit(group, a, [{ topic, partition: 0, offset: 4 }]);

    const described = await describeGroup(group);
    expect(described).toEqual({
      group,
      state: "Stable",
      generation: 1,
      assignor: "sticky",
      members: [
        {
          memberId: a.memberId,
          instanceId: "reader",
          topics: [topic],
          sessionTimeoutMs: 30_000,
          assignment: [
            { topic, partition: 0 },
            { topic, partition: 1 },
          ],
        },
      ],
      partitions: [
        { topic, partition: 0, committed: 4, highWatermark: 7, lag: 3 },
        // Never committed: a consumer would start at the log start (0 here), so everything is lag.
        { topic, partition: 1, committed: null, highWatermark: 3, lag: 3 },
      ],
    });

    // Lag follows the log and the commits.
    await produced(topic, [
      { value: "p0-7", partition: 0 },
      { value: "p0-8", partition: 0 },
    ]);
    expect((await describeGroup(group)).partitions[0]).toEqual({ topic, partition: 0, committed: 4, highWatermark: 9, lag: 5 });
    await commit(group, a, [
      { topic, partition: 0, offset: 9 },
      { topic, partition: 1, offset: 1 },
    ]);
    expect((await describeGroup(group)).partitions.map((p) => [p.committed, p.highWatermark, p.lag])).toEqual([
      [9, 9, 0],
      [1, 3, 2],
    ]);
  });

  it("without a commit, lag counts from the log start offset: records removed by retention are not lag", async () => {
    const name = uniqueTopic("lag-retention");
    const topic = await createTopic(name, 1, { "retention.ms": 60_000 });
    const old = Date.now() - HOUR;
    await produced(
      name,
      [0, 1, 2, 3].map((i) => ({ value: `old-${i}`, timestamp: old })),
    );
    await produced(name, [{ value: "new-0" }, { value: "new-1" }]);
    await runDurableObjectAlarm(leaderStub(topic));
    expect((await describeTopic(name)).partitions[0]).toMatchObject({ logStartOffset: 4, highWatermark: 6 });
    const group = uniqueTopic("g-lag-retention");
    await join(group, { topics: [name] });
    expect((await describeGroup(group)).partitions).toEqual([{ topic: name, partition: 0, committed: null, highWatermark: 6, lag: 2 }]);
  });

  it("describe of a group never used is Empty at generation 0 with no members and no partitions", async () => {
    const group = uniqueTopic("g-new");
    expect(await describeGroup(group)).toEqual({ group, state: "Empty", generation: 0, assignor: null, members: [], partitions: [] });
  });
});

describe("offsets and listing", () => {
  it("the offsets of a new group are an empty list", async () => {
    const res = await api(`/v1/groups/${uniqueTopic("g-fresh")}/offsets`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ offsets: [] });
  });

  it("GET /v1/groups lists the groups that were used (joined, or reset), and not those only looked at", async () => {
    // Regression: a reset registered the group only if it was still pristine after writing offsets,
    // so a group used only through resets was never listed.
    const topic = uniqueTopic("list");
    await createTopic(topic, 1);
    const joined = uniqueTopic("g-list-joined");
    const resetOnly = uniqueTopic("g-list-reset");
    const lookedAt = uniqueTopic("g-list-looked");
    const a = await join(joined, { topics: [topic] });
    await leave(joined, a.memberId);
    await reset(resetOnly, { topics: [topic], to: "earliest" });
    await describeGroup(lookedAt);
    await storedOffsets(lookedAt);
    const listed = await listedGroups();
    expect(listed).toContain(joined);
    expect(listed).toContain(resetOnly);
    expect(listed).not.toContain(lookedAt);
    expect([...listed].sort()).toEqual(listed);
  });
});

describe("reset", () => {
  it("a reset of an empty group moves every partition of its topics to earliest, latest, a timestamp or an offset, each under a new resetId", async () => {
    const topic = uniqueTopic("reset");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-reset");
    const base = Date.now() - 60_000;
    // p0: offsets 0, 1, 2 at base, base+1000, base+2000; p1: offsets 0, 1 at base+500, base+1500.
    await produced(topic, [
      { value: "a", partition: 0, timestamp: base },
      { value: "b", partition: 0, timestamp: base + 1_000 },
      { value: "c", partition: 0, timestamp: base + 2_000 },
      { value: "x", partition: 1, timestamp: base + 500 },
      { value: "y", partition: 1, timestamp: base + 1_500 },
    ]);
    const a = await join(group, { topics: [topic] });
    await commit(group, a, [
      { topic, partition: 0, offset: 2, metadata: "m" },
      { topic, partition: 1, offset: 1 },
    ]);
    await leave(group, a.memberId);
    expect((await storedOffsets(group)).map((o) => o.resetId)).toEqual([0, 0]);

    const steps: [unknown, number[]][] = [
      ["earliest", [0, 0]],
      ["latest", [3, 2]],
      [{ timestamp: base + 1_000 }, [1, 1]], // the first record at or after it
      [{ timestamp: base + 1_600 }, [2, 2]], // p1 has none that new: its high watermark
      [{ offset: 1 }, [1, 1]],
      [{ offset: 2 }, [2, 2]], // p1's high watermark is in range (the next offset to read)
    ];
    let resetId = 0;
    for (const [to, expected] of steps) {
      const body = await reset(group, { to }); // without "topics": the topics it has offsets for
      resetId++;
      const offsets = expected.map((offset, partition) => ({ topic, partition, offset }));
      expect(body, JSON.stringify(to)).toEqual({ resetId, offsets });
      expect(await storedOffsets(group), JSON.stringify(to)).toEqual(offsets.map((o) => ({ ...o, metadata: null, resetId })));
    }

    // A commit after a reset carries the reset it follows.
    const b = await join(group, { topics: [topic] });
    await commit(group, b, [{ topic, partition: 0, offset: 3 }]);
    expect((await storedOffsets(group))[0]).toEqual({ topic, partition: 0, offset: 3, metadata: null, resetId });
  });

  it("a reset to an offset outside any named partition's [log start, high watermark] is 400 OFFSET_OUT_OF_RANGE and changes nothing", async () => {
    const name = uniqueTopic("reset-range");
    const topic = await createTopic(name, 2, { "retention.ms": 60_000 });
    await produced(
      name,
      [0, 1, 2].map((i) => ({ value: `old-${i}`, partition: 0, timestamp: Date.now() - HOUR })),
    );
    await produced(name, [{ value: "new", partition: 0 }]);
    await produced(
      name,
      [0, 1, 2, 3, 4].map((i) => ({ value: `p1-${i}`, partition: 1 })),
    );
    await runDurableObjectAlarm(leaderStub(topic, 0));
    expect((await describeTopic(name)).partitions.map((p) => [p.logStartOffset, p.highWatermark])).toEqual([
      [3, 4],
      [0, 5],
    ]);
    const group = uniqueTopic("g-reset-range");
    const first = await reset(group, { topics: [name], to: "earliest" });
    expect(first).toEqual({
      resetId: 1,
      offsets: [
        { topic: name, partition: 0, offset: 3 },
        { topic: name, partition: 1, offset: 0 },
      ],
    });
    const before = await storedOffsets(group);
    await expectError(await resetRes(group, { topics: [name], to: { offset: 5 } }), 400, "OFFSET_OUT_OF_RANGE"); // past p0's high watermark
    await expectError(await resetRes(group, { topics: [name], to: { offset: 2 } }), 400, "OFFSET_OUT_OF_RANGE"); // below p0's log start
    await expectError(await resetRes(group, { topics: [name], to: { offset: 6 } }), 400, "OFFSET_OUT_OF_RANGE"); // past both
    expect(await storedOffsets(group)).toEqual(before);
    // The next successful reset takes the next id: refused ones used none.
    expect((await reset(group, { topics: [name], to: { offset: 4 } })).resetId).toBe(2);
  });

  it("a reset of a group with members is 409 NON_EMPTY_GROUP and changes nothing", async () => {
    const topic = uniqueTopic("reset-busy");
    await createTopic(topic, 1);
    await produced(topic, [{ value: "a" }, { value: "b" }]);
    const group = uniqueTopic("g-reset-busy");
    const a = await join(group, { topics: [topic] });
    await commit(group, a, [{ topic, partition: 0, offset: 1 }]);
    const before = await describeGroup(group);
    await expectError(await resetRes(group, { to: "latest" }), 409, "NON_EMPTY_GROUP");
    await expectError(await resetRes(group, { topics: [topic], to: "earliest" }), 409, "NON_EMPTY_GROUP");
    expect(await storedOffsets(group)).toEqual([{ topic, partition: 0, offset: 1, metadata: null, resetId: 0 }]);
    expect(await describeGroup(group)).toEqual(before);
    // Once empty, the same reset is accepted with resetId 1: the refused ones took none.
    await leave(group, a.memberId);
    expect(await reset(group, { to: "latest" })).toEqual({ resetId: 1, offsets: [{ topic, partition: 0, offset: 2 }] });
  });
});

describe("delete", () => {
  it("DELETE of a group with members is 409 NON_EMPTY_GROUP and changes nothing", async () => {
    const topic = uniqueTopic("delete-busy");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-delete-busy");
    const a = await join(group, { topics: [topic] });
    await commit(group, a, [{ topic, partition: 0, offset: 0 }]);
    const before = await describeGroup(group);
    await expectError(await api(`/v1/groups/${group}`, { method: "DELETE" }), 409, "NON_EMPTY_GROUP");
    expect(await describeGroup(group)).toEqual(before);
    expect(await storedOffsets(group)).toHaveLength(1);
    expect(await listedGroups()).toContain(group);
    expect((await heartbeat(group, a.memberId)).generation).toBe(before.generation);
  });

  it("DELETE of an empty group removes its offsets, its listing and its object's storage and alarm; the name then starts afresh", async () => {
    const topic = uniqueTopic("delete");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-delete");
    const a = await join(group, { topics: [topic], instanceId: "static-one" });
    await commit(group, a, [{ topic, partition: 1, offset: 0, metadata: "gone soon" }]);
    const b = await join(group, { topics: [topic], instanceId: "static-one" }); // fences a: a row in "fenced"
    await leave(group, b.memberId);
    expect((await objectStorage(group)).rows).toMatchObject({ meta: expect.any(Number), offsets: 1, fenced: 1, members: 0 });

    const res = await api(`/v1/groups/${group}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ group, deleted: true });
    expect(await storedOffsets(group)).toEqual([]);
    expect(await listedGroups()).not.toContain(group);
    // deleteAll wiped the object; the coordinator re-created its empty schema, and nothing else.
    const storage = await objectStorage(group);
    expect(storage.alarm).toBeNull();
    expect(storage.rows).toEqual({ fenced: 0, members: 0, meta: 0, offsets: 0 });
    expect(await describeGroup(group)).toEqual({ group, state: "Empty", generation: 0, assignor: null, members: [], partitions: [] });
    // The replaced member's id is forgotten with the rest.
    await expectError(await api(`/v1/groups/${group}/members/${a.memberId}/heartbeat`, { method: "POST" }), 404, "UNKNOWN_MEMBER_ID");

    // Used again, it is a new group: generation 1, listed again, no old offsets.
    const c = await join(group, { topics: [topic] });
    expect(c.generation).toBe(1);
    expect(await listedGroups()).toContain(group);
    expect(await storedOffsets(group)).toEqual([]);
  });
});

describe("durability", () => {
  it("a group's members, generation, assignment and offsets survive the reset of every object, rebuilt from SQLite", async () => {
    const topic = uniqueTopic("durable");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-durable");
    let members = [
      await join(group, { topics: [topic], assignor: "roundrobin" }),
      await join(group, { topics: [topic], instanceId: "keeper" }),
    ];
    members = await settle(group, members);
    await commit(group, members[0], [{ ...members[0].assignment[0], offset: 0, metadata: "before the reset" }]);
    const before = await describeGroup(group);
    const offsetsBefore = await storedOffsets(group);
    const alarmBefore = (await objectStorage(group)).alarm;
    expect(alarmBefore).not.toBeNull();

    await abortAllDurableObjects();

    // (Members are compared as a set: describe does not promise an order.)
    const byId = (d: GroupDescription) => ({ ...d, members: [...d.members].sort((x, y) => (x.memberId < y.memberId ? -1 : 1)) });
    expect(byId(await describeGroup(group))).toEqual(byId(before));
    expect(await storedOffsets(group)).toEqual(offsetsBefore);
    expect((await objectStorage(group)).alarm).toBe(alarmBefore);
    for (const m of members) {
      const again = await heartbeat(group, m.memberId);
      expect(again.generation).toBe(before.generation);
      expect(sorted(again.assignment)).toEqual(sorted(m.assignment));
      expect(again.pending).toEqual([]);
    }
    // The generation still fences, ownership still holds, and the assignor is still the group's.
    await commit(group, members[1], [{ ...members[1].assignment[0], offset: 0 }]);
    await expectError(
      await api(`/v1/groups/${group}/offsets`, {
        method: "POST",
        json: { memberId: members[1].memberId, generation: before.generation - 1, offsets: [{ ...members[1].assignment[0], offset: 0 }] },
      }),
      409,
      "ILLEGAL_GENERATION",
    );
    await expectError(
      await api(`/v1/groups/${group}/members`, { method: "POST", json: { topics: [topic], assignor: "range" } }),
      409,
      "INCONSISTENT_GROUP_PROTOCOL",
    );
    // A static member's rejoin still finds its partitions.
    const keeper = await join(group, { topics: [topic], instanceId: "keeper" });
    expect(sorted(keeper.assignment)).toEqual(sorted(members[1].assignment));
    expect(keeper.generation).toBe(before.generation);
  });

  it("a member's session timeout survives the reset of every object: the alarm read back from storage still expires it", async () => {
    const topic = uniqueTopic("durable-expiry");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-durable-expiry");
    const stays = await join(group, { topics: [topic] });
    const goes = await join(group, { topics: [topic], sessionTimeoutMs: 1_000 });
    await settle(group, [stays, goes]);
    await abortAllDurableObjects();
    await sleep(1_100);
    await runDurableObjectAlarm(groupStub(group)); // (it may have run by itself already)
    const described = await describeGroup(group);
    expect(described.members.map((m) => m.memberId)).toEqual([stays.memberId]);
    await expectError(await api(`/v1/groups/${group}/members/${goes.memberId}/heartbeat`, { method: "POST" }), 404, "UNKNOWN_MEMBER_ID");
    expect(sorted((await heartbeat(group, stays.memberId)).assignment)).toEqual([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ]);
  });
});
