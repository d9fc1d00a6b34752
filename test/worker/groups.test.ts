/**
 * Consumer groups over HTTP, against the real group, controller and partition objects:
 * membership and server-side assignment, generations, the two-step handover, commits, and the
 * queue / publish-subscribe semantics an at-least-once consumer gets from them.
 *
 * Every join and heartbeat answer a test receives goes into an AnswerLog, whose checkers look for
 * what example-based assertions miss: a partition in two members' answers of one generation, or in
 * two members' latest answers at any moment (what each member believes it may read).
 */
import { createExecutionContext, env, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { expectCommitted, groupApi, groupStub, sleep, sorted, type Answer, type GroupDescription, type TP } from "./group-helpers";
import { BASE, expectError, uniqueTopic, type ApiInit } from "./helpers";
import { prng } from "./history";

/**
 * The HTTP API, dispatched to the worker's own fetch handler in this isolate instead of through
 * SELF: under @cloudflare/vitest-pool-workers every SELF.fetch gets slower as the number of
 * requests made in one test file grows (cloudflare/workers-sdk#15446; measured here: ~5 ms per
 * request at first, ~430 ms after a few thousand), and the consumer histories below make
 * thousands. Same Hono app, same bindings, same Request and Response.
 */
async function api(path: string, init: ApiInit = {}): Promise<Response> {
  const { json, headers, ...rest } = init;
  const h = new Headers(headers);
  if (json !== undefined) h.set("content-type", "application/json");
  const request = new Request(`${BASE}${path}`, { ...rest, headers: h, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function createTopic(name: string, partitions: number): Promise<void> {
  const res = await api("/v1/topics", { method: "POST", json: { name, partitions } });
  expect(res.status, await res.text()).toBe(201);
}

function produce(topic: string, records: unknown[]): Promise<Response> {
  return api(`/v1/topics/${topic}/records`, { method: "POST", json: { records } });
}

function fetchRecords(topic: string, partition: number, query: string): Promise<Response> {
  return api(`/v1/topics/${topic}/partitions/${partition}/records?${query}`);
}

const { join, joinRes, heartbeat, heartbeatRes, commitRes, describeGroup, storedOffsets } = groupApi(api);

const tpKey = (tp: TP) => `${tp.topic}/${tp.partition}`;
const all = (topic: string, n: number): TP[] => Array.from({ length: n }, (_, partition) => ({ topic, partition }));

/** Every answer members received, in order, and the checkers that run over them. */
class AnswerLog {
  readonly entries: { who: string; answer: Answer }[] = [];
  /** Members gone (left, expired, replaced): their latest answer no longer counts. */
  readonly #gone = new Set<string>();
  /** who -> its latest answer's assignment, for the members still in the group. */
  readonly #latest = new Map<string, Set<string>>();
  readonly anomalies: string[] = [];

  /** `who` is the member's identity: its instanceId for a static member (a rejoin is the same member), else its memberId. */
  record(who: string, answer: Answer): void {
    this.entries.push({ who, answer });
    this.#gone.delete(who);
    const mine = new Set(answer.assignment.map(tpKey));
    for (const [other, theirs] of this.#latest) {
      if (other === who) continue;
      for (const tp of mine)
        if (theirs.has(tp))
          this.anomalies.push(`${tp} is in the latest answers of ${other} and of ${who} (generation ${answer.generation})`);
    }
    this.#latest.set(who, mine);
  }

  gone(who: string): void {
    this.#gone.add(who);
    this.#latest.delete(who);
  }

  /** Anomalies: a partition in two members' answers of one generation, or in two live members' latest answers. */
  check(): string[] {
    const found = [...this.anomalies];
    const owners = new Map<string, string>(); // "generation tp" -> who
    for (const { who, answer } of this.entries) {
      for (const tp of answer.assignment) {
        const slot = `generation ${answer.generation}: ${tpKey(tp)}`;
        const before = owners.get(slot);
        if (before !== undefined && before !== who) found.push(`${slot} is in the answers of ${before} and of ${who}`);
        else owners.set(slot, who);
      }
    }
    // A member's generations never go backwards.
    const last = new Map<string, number>();
    for (const { who, answer } of this.entries) {
      if ((last.get(who) ?? 0) > answer.generation) found.push(`${who} saw generation ${answer.generation} after ${last.get(who)}`);
      last.set(who, answer.generation);
    }
    return found;
  }
}

/** A member as a test drives it: every answer it gets goes into the log. */
class Member {
  constructor(
    readonly group: string,
    readonly log: AnswerLog,
    readonly who: string,
    public answer: Answer,
  ) {}

  static async join(group: string, body: Record<string, unknown>, log = new AnswerLog()): Promise<Member> {
    const answer = await join(group, body);
    const who = typeof body.instanceId === "string" ? body.instanceId : answer.memberId;
    log.record(who, answer);
    return new Member(group, log, who, answer);
  }

  get memberId(): string {
    return this.answer.memberId;
  }

  get generation(): number {
    return this.answer.generation;
  }

  async heartbeat(): Promise<Answer> {
    this.answer = await heartbeat(this.group, this.memberId);
    this.log.record(this.who, this.answer);
    return this.answer;
  }

  async leave(): Promise<void> {
    const res = await api(`/v1/groups/${this.group}/members/${this.memberId}`, { method: "DELETE" });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toEqual({ memberId: this.memberId, left: true });
    this.log.gone(this.who);
  }

  /** Commits at this member's current generation (or `generation`); answers the raw response. */
  commit(
    offsets: { topic: string; partition: number; offset: number; metadata?: string }[],
    generation = this.generation,
  ): Promise<Response> {
    return commitRes(this.group, this.memberId, generation, offsets);
  }
}

/**
 * Heartbeats every member, round after round, until the group describes itself as Stable (bounded),
 * then once more so every member's latest answer is of the settled state.
 */
async function settle(group: string, members: Member[]): Promise<GroupDescription> {
  for (let round = 0; round < 20; round++) {
    for (const m of members) await m.heartbeat();
    if ((await describeGroup(group)).state === "Stable") {
      for (const m of members) await m.heartbeat();
      const described = await describeGroup(group);
      expect(described.state).toBe("Stable");
      return described;
    }
  }
  throw new Error(`group ${group} did not settle in 20 rounds of heartbeats`);
}

/** The settled group covers every partition exactly once, and each member's answer is what describe says it owns. */
function expectCovering(members: Member[], described: GroupDescription, partitions: TP[]): void {
  const seen = members.flatMap((m) => m.answer.assignment.map(tpKey));
  expect(new Set(seen).size, `overlap in ${JSON.stringify(seen)}`).toBe(seen.length);
  expect([...seen].sort()).toEqual(partitions.map(tpKey).sort());
  for (const m of members) {
    expect(m.answer.generation).toBe(described.generation);
    expect(m.answer.pending).toEqual([]);
    const d = described.members.find((x) => x.memberId === m.memberId);
    expect(d, `member ${m.memberId} in describe`).toBeDefined();
    expect(sorted(d!.assignment)).toEqual(sorted(m.answer.assignment));
  }
  expect(described.members).toHaveLength(members.length);
}

describe("membership and assignment", () => {
  it("a member alone in its group owns every partition of its topics from its join answer", async () => {
    const t1 = uniqueTopic("alone-a");
    const t2 = uniqueTopic("alone-b");
    await createTopic(t1, 3);
    await createTopic(t2, 2);
    const group = uniqueTopic("g-alone");
    const a = await Member.join(group, { topics: [t1, t2] });
    expect(a.answer).toMatchObject({ generation: 1, pending: [], sessionTimeoutMs: 45_000 });
    expect(a.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sorted(a.answer.assignment)).toEqual(sorted([...all(t1, 3), ...all(t2, 2)]));
    const described = await describeGroup(group);
    expect(described).toMatchObject({ group, state: "Stable", generation: 1, assignor: "sticky" });
    expect(described.members).toEqual([
      { memberId: a.memberId, instanceId: null, topics: [t1, t2].sort(), sessionTimeoutMs: 45_000, assignment: expect.any(Array) },
    ]);
    expect(sorted(described.members[0].assignment)).toEqual(sorted(a.answer.assignment));
    expect(a.log.check()).toEqual([]);
  });

  it("two members split four partitions two and two, with no overlap and no gap, once the handover settles", async () => {
    const topic = uniqueTopic("split");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-split");
    const a = await Member.join(group, { topics: [topic] });
    const b = await Member.join(group, { topics: [topic] }, a.log);
    expect(b.generation).toBe(2);
    // A still owns everything until it hears of the new generation and releases: B must wait.
    expect(b.answer.assignment).toEqual([]);
    expect(b.answer.pending).toHaveLength(2);
    expect(b.answer.heartbeatIntervalMs).toBeLessThan(1_000);
    const described = await settle(group, [a, b]);
    expectCovering([a, b], described, all(topic, 4));
    expect(a.answer.assignment).toHaveLength(2);
    expect(b.answer.assignment).toHaveLength(2);
    expect(a.log.check()).toEqual([]);
  });

  for (const assignor of ["range", "roundrobin", "sticky"] as const) {
    it(`with ${assignor}, through a seeded run of joins, static rejoins, leaves and heartbeats, no partition is in two members' answers of one generation, nor in two members' latest answers`, async () => {
      const topic = uniqueTopic(`hist-${assignor}`);
      await createTopic(topic, 6);
      const group = uniqueTopic(`g-hist-${assignor}`);
      const log = new AnswerLog();
      const rnd = prng(assignor.length * 7919);
      const live: Member[] = [await Member.join(group, { topics: [topic], assignor }, log)];
      let instances = 0;
      let generation = live[0].generation;
      const bumps: string[] = [];
      for (let step = 0; step < 80; step++) {
        const roll = rnd.next();
        if (roll < 0.1 && live.length < 4) {
          const instanceId = rnd.chance(0.5) ? `inst-${instances++}` : undefined;
          live.push(await Member.join(group, { topics: [topic], ...(instanceId ? { instanceId } : {}) }, log));
          bumps.push("join");
        } else if (roll < 0.16 && live.length > 1) {
          const [gone] = live.splice(rnd.int(live.length), 1);
          await gone.leave();
          bumps.push("leave");
        } else if (roll < 0.2) {
          // A static member comes back under a new memberId: same partitions, same generation.
          const statics = live.filter((m) => m.who.startsWith("inst-"));
          if (statics.length === 0) continue;
          const old = rnd.pick(statics);
          const back = await Member.join(group, { topics: [topic], instanceId: old.who }, log);
          expect(back.generation).toBe(generation);
          live[live.indexOf(old)] = back;
          await expectError(await heartbeatRes(group, old.memberId), 409, "FENCED_INSTANCE_ID");
        } else {
          await rnd.pick(live).heartbeat();
        }
        const now = (await describeGroup(group)).generation;
        expect(now).toBeGreaterThanOrEqual(generation);
        generation = now;
      }
      const described = await settle(group, live);
      expectCovering(live, described, all(topic, 6));
      expect(described.assignor).toBe(assignor);
      // One generation per join and leave, and none for anything else (heartbeats, static rejoins).
      expect(described.generation).toBe(1 + bumps.length);
      expect(log.check()).toEqual([]);
    });
  }

  it("the generation bumps on every join and leave; heartbeats and commits never bump it", async () => {
    const topic = uniqueTopic("gen");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-gen");
    const a = await Member.join(group, { topics: [topic] });
    expect(a.generation).toBe(1);
    await a.heartbeat();
    await expectCommitted(await a.commit([{ topic, partition: 0, offset: 0 }]), 1);
    expect((await a.heartbeat()).generation).toBe(1);
    const b = await Member.join(group, { topics: [topic] }, a.log);
    expect(b.generation).toBe(2);
    expect((await a.heartbeat()).generation).toBe(2);
    const c = await Member.join(group, { topics: [topic] }, a.log);
    expect(c.generation).toBe(3);
    await b.leave();
    expect((await describeGroup(group)).generation).toBe(4);
    expect((await c.heartbeat()).generation).toBe(4);
    await settle(group, [a, c]);
    expect((await describeGroup(group)).generation).toBe(4);
    expect(a.log.check()).toEqual([]);
  });

  it("a member that leaves gives its partitions to the others at once, and its id then answers 404 UNKNOWN_MEMBER_ID", async () => {
    const topic = uniqueTopic("leave");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-leave");
    const a = await Member.join(group, { topics: [topic] });
    const b = await Member.join(group, { topics: [topic] }, a.log);
    await settle(group, [a, b]);
    const before = a.generation;
    await b.leave();
    // No second heartbeat needed: a member that left holds nothing.
    const answer = await a.heartbeat();
    expect(answer.generation).toBe(before + 1);
    expect(sorted(answer.assignment)).toEqual(all(topic, 4));
    expect(answer.pending).toEqual([]);
    await expectError(await heartbeatRes(group, b.memberId), 404, "UNKNOWN_MEMBER_ID");
    await expectError(await api(`/v1/groups/${group}/members/${b.memberId}`, { method: "DELETE" }), 404, "UNKNOWN_MEMBER_ID");
    expect((await describeGroup(group)).members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(a.log.check()).toEqual([]);
  });

  it("a member that stops heartbeating is removed when the alarm runs after its session timeout: the generation bumps, its partitions move, and its heartbeat answers 404 UNKNOWN_MEMBER_ID", async () => {
    const topic = uniqueTopic("expire");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-expire");
    const a = await Member.join(group, { topics: [topic] });
    const b = await Member.join(group, { topics: [topic], sessionTimeoutMs: 1_000 }, a.log);
    expect(b.answer.sessionTimeoutMs).toBe(1_000);
    await settle(group, [a, b]);
    const before = (await describeGroup(group)).generation;
    // Not expired before its timeout.
    await runDurableObjectAlarm(groupStub(group));
    expect((await describeGroup(group)).members).toHaveLength(2);
    await sleep(1_100);
    await runDurableObjectAlarm(groupStub(group)); // (it may have run by itself already)
    const described = await describeGroup(group);
    expect(described.generation).toBe(before + 1);
    expect(described.members.map((m) => m.memberId)).toEqual([a.memberId]);
    a.log.gone(b.who);
    const answer = await a.heartbeat();
    expect(answer.generation).toBe(before + 1);
    expect(sorted(answer.assignment)).toEqual(all(topic, 4));
    await expectError(await heartbeatRes(group, b.memberId), 404, "UNKNOWN_MEMBER_ID");
    await expectError(await b.commit([{ topic, partition: 0, offset: 0 }], before + 1), 404, "UNKNOWN_MEMBER_ID");
    expect(a.log.check()).toEqual([]);
  });

  it("the last member's expiry empties the group: state Empty, no members, offsets kept", async () => {
    const topic = uniqueTopic("expire-all");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-expire-all");
    const a = await Member.join(group, { topics: [topic], sessionTimeoutMs: 1_000 });
    await expectCommitted(await a.commit([{ topic, partition: 0, offset: 0 }]), 1);
    await sleep(1_100);
    await runDurableObjectAlarm(groupStub(group));
    const described = await describeGroup(group);
    expect(described).toMatchObject({ state: "Empty", generation: 2, members: [] });
    expect((await storedOffsets(group)).map((o) => o.offset)).toEqual([0]);
  });

  it.concurrent("partitions added to a subscribed topic reach the assignment with a new generation once the group's 5 s metadata TTL has passed", async () => {
    const topic = uniqueTopic("grow");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-grow");
    const a = await Member.join(group, { topics: [topic] });
    const b = await Member.join(group, { topics: [topic] }, a.log);
    await settle(group, [a, b]);
    const before = a.generation;
    const res = await api(`/v1/topics/${topic}/partitions`, { method: "POST", json: { count: 4 } });
    expect(res.status, await res.text()).toBe(200);
    await sleep(5_200);
    const answer = await a.heartbeat();
    expect(answer.generation).toBe(before + 1);
    const described = await settle(group, [a, b]);
    expect(described.generation).toBe(before + 1);
    expectCovering([a, b], described, all(topic, 4));
    expect(a.log.check()).toEqual([]);
  });

  it.concurrent("re-reading unchanged partition counts after the metadata TTL does not bump the generation, whatever order the topics were joined in", async () => {
    // Regression: counts were compared as JSON text, so topics learnt out of sorted order made the
    // first controller refresh look like a change and bump the generation for nothing.
    const late = `zz-${uniqueTopic("order")}`;
    const early = `aa-${uniqueTopic("order")}`;
    await createTopic(late, 2);
    await createTopic(early, 2);
    const group = uniqueTopic("g-order");
    // Topics learnt in the opposite of their sorted order.
    const a = await Member.join(group, { topics: [late] });
    const b = await Member.join(group, { topics: [early] }, a.log);
    await settle(group, [a, b]);
    const before = a.generation;
    await sleep(5_200);
    expect((await a.heartbeat()).generation).toBe(before);
    expect((await b.heartbeat()).generation).toBe(before);
    expect((await describeGroup(group)).generation).toBe(before);
  });

  it("a join carrying partition counts from a stale metadata cache never shrinks the group's view of a topic", async () => {
    // Regression: a join's counts (from the worker's cache) replaced the group's, so a stale cache
    // shrank the topic and left partitions unassigned until the next controller refresh.
    const topic = uniqueTopic("stale");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-stale");
    const stub = groupStub(group);
    // Two worker isolates: one with fresh metadata (4 partitions), one whose cache predates the growth (2).
    const base = { group, topics: [topic], instanceId: null, sessionTimeoutMs: 45_000, assignor: null };
    const first = await stub.join({ ...base, counts: { [topic]: 4 } });
    const second = await stub.join({ ...base, counts: { [topic]: 2 } });
    if (!first.ok || !second.ok) throw new Error(`join refused: ${JSON.stringify([first, second])}`);
    expect(first.value.assignment).toHaveLength(4);
    const log = new AnswerLog();
    const a = new Member(group, log, first.value.memberId, first.value);
    const b = new Member(group, log, second.value.memberId, second.value);
    const described = await settle(group, [a, b]);
    expectCovering([a, b], described, all(topic, 4));
  });
});

describe("assignors", () => {
  // Static members sort by instanceId, so range and roundrobin hand out predictable shares.
  const cases = [
    { assignor: "range", a: [0, 1, 2], b: [3, 4] },
    { assignor: "roundrobin", a: [0, 2, 4], b: [1, 3] },
  ] as const;
  for (const { assignor, a: aParts, b: bParts } of cases) {
    it(`"assignor": "${assignor}" chosen by the first member is the group's, and splits five partitions as Kafka's ${assignor} does`, async () => {
      const topic = uniqueTopic(assignor);
      await createTopic(topic, 5);
      const group = uniqueTopic(`g-${assignor}`);
      const a = await Member.join(group, { topics: [topic], assignor, instanceId: "a" });
      // A later member need not name it.
      const b = await Member.join(group, { topics: [topic], instanceId: "b" }, a.log);
      const described = await settle(group, [a, b]);
      expect(described.assignor).toBe(assignor);
      expect(a.answer.assignment).toEqual(aParts.map((partition) => ({ topic, partition })));
      expect(b.answer.assignment).toEqual(bParts.map((partition) => ({ topic, partition })));
      expect(a.log.check()).toEqual([]);
    });
  }

  it(`"assignor": "sticky" balances and keeps what members own: a third member takes one partition from the busiest, the others keep theirs`, async () => {
    const topic = uniqueTopic("sticky");
    await createTopic(topic, 6);
    const group = uniqueTopic("g-sticky");
    const a = await Member.join(group, { topics: [topic], assignor: "sticky" });
    const b = await Member.join(group, { topics: [topic], assignor: "sticky" }, a.log);
    await settle(group, [a, b]);
    const before = new Map([a, b].map((m) => [m.memberId, new Set(m.answer.assignment.map(tpKey))]));
    const c = await Member.join(group, { topics: [topic], assignor: "sticky" }, a.log);
    const described = await settle(group, [a, b, c]);
    expect(described.assignor).toBe("sticky");
    expectCovering([a, b, c], described, all(topic, 6));
    for (const m of [a, b, c]) expect(m.answer.assignment).toHaveLength(2);
    // Everything a and b hold now, they held before: only moves to c happened.
    for (const m of [a, b]) for (const tp of m.answer.assignment) expect(before.get(m.memberId)!.has(tpKey(tp))).toBe(true);
    expect(a.log.check()).toEqual([]);
  });

  it("a later member naming a different assignor is refused with 409 INCONSISTENT_GROUP_PROTOCOL and the group is unchanged", async () => {
    const topic = uniqueTopic("inconsistent");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-inconsistent");
    const a = await Member.join(group, { topics: [topic], assignor: "range" });
    await expectError(await joinRes(group, { topics: [topic], assignor: "roundrobin" }), 409, "INCONSISTENT_GROUP_PROTOCOL");
    await expectError(await joinRes(group, { topics: [topic], assignor: "sticky" }), 409, "INCONSISTENT_GROUP_PROTOCOL");
    const described = await describeGroup(group);
    expect(described).toMatchObject({ generation: 1, assignor: "range", state: "Stable" });
    expect(described.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(sorted((await a.heartbeat()).assignment)).toEqual(all(topic, 2));
    // The same assignor is welcome.
    const b = await Member.join(group, { topics: [topic], assignor: "range" }, a.log);
    expect(b.generation).toBe(2);
  });

  it("once the group is empty again, the next first member may choose another assignor", async () => {
    const topic = uniqueTopic("reassign");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-reassign");
    const a = await Member.join(group, { topics: [topic], assignor: "range" });
    await a.leave();
    await Member.join(group, { topics: [topic], assignor: "roundrobin" });
    expect((await describeGroup(group)).assignor).toBe("roundrobin");
  });
});

describe("static membership", () => {
  it("a static member that rejoins within its session timeout gets the same partitions back without a generation bump, and its old memberId answers 409 FENCED_INSTANCE_ID", async () => {
    const topic = uniqueTopic("static");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-static");
    const a = await Member.join(group, { topics: [topic], instanceId: "consumer-a" });
    const b = await Member.join(group, { topics: [topic], instanceId: "consumer-b" }, a.log);
    const settled = await settle(group, [a, b]);
    const generation = settled.generation;
    const held = sorted(b.answer.assignment);

    const back = await Member.join(group, { topics: [topic], instanceId: "consumer-b" }, a.log);
    expect(back.memberId).not.toBe(b.memberId);
    expect(back.generation).toBe(generation);
    expect(sorted(back.answer.assignment)).toEqual(held);
    expect(back.answer.pending).toEqual([]);
    const described = await describeGroup(group);
    expect(described).toMatchObject({ generation, state: "Stable" });
    expect(described.members.map((m) => m.memberId).sort()).toEqual([a.memberId, back.memberId].sort());
    expect(described.members.find((m) => m.memberId === back.memberId)?.instanceId).toBe("consumer-b");
    // The other member notices nothing.
    const other = await a.heartbeat();
    expect(other.generation).toBe(generation);
    expect(sorted(other.assignment)).toEqual(sorted(settled.members.find((m) => m.memberId === a.memberId)!.assignment));

    // The replaced member is fenced: heartbeat, commit and leave.
    await expectError(await heartbeatRes(group, b.memberId), 409, "FENCED_INSTANCE_ID");
    await expectError(await b.commit([{ topic, partition: held[0].partition, offset: 1 }], generation), 409, "FENCED_INSTANCE_ID");
    await expectError(await api(`/v1/groups/${group}/members/${b.memberId}`, { method: "DELETE" }), 409, "FENCED_INSTANCE_ID");
    expect(await storedOffsets(group)).toEqual([]);
    // The new incarnation commits on the partitions it got back.
    await expectCommitted(await back.commit([{ topic, partition: held[0].partition, offset: 1 }]), 1);
    expect(a.log.check()).toEqual([]);
  });

  it("a static member that rejoins with other topics triggers a new generation", async () => {
    const t1 = uniqueTopic("static-t1");
    const t2 = uniqueTopic("static-t2");
    await createTopic(t1, 2);
    await createTopic(t2, 2);
    const group = uniqueTopic("g-static-topics");
    const a = await Member.join(group, { topics: [t1], instanceId: "s" });
    const back = await Member.join(group, { topics: [t1, t2], instanceId: "s" }, a.log);
    expect(back.generation).toBe(a.generation + 1);
    expect(sorted(back.answer.assignment)).toEqual(sorted([...all(t1, 2), ...all(t2, 2)]));
    await expectError(await heartbeatRes(group, a.memberId), 409, "FENCED_INSTANCE_ID");
  });
});

describe("commits", () => {
  it("a commit from the current generation for owned partitions is stored as the next offset to read, with its metadata and resetId 0", async () => {
    const topic = uniqueTopic("commit");
    await createTopic(topic, 2);
    const group = uniqueTopic("g-commit");
    expect(
      (
        await produce(
          topic,
          [0, 1, 2, 3, 4].map((i) => ({ value: `r${i}`, partition: 0 })),
        )
      ).status,
    ).toBe(200);
    const a = await Member.join(group, { topics: [topic] });
    const read = (await (await fetchRecords(topic, 0, "offset=0")).json()) as { records: { offset: number }[] };
    expect(read.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    // Processed offsets 0..4: the committed offset is the next one to read.
    await expectCommitted(
      await a.commit([
        { topic, partition: 0, offset: 5, metadata: "processed by a" },
        { topic, partition: 1, offset: 0 },
      ]),
      2,
    );
    expect(await storedOffsets(group)).toEqual([
      { topic, partition: 0, offset: 5, metadata: "processed by a", resetId: 0 },
      { topic, partition: 1, offset: 0, metadata: null, resetId: 0 },
    ]);
    // A commit overwrites; a later one may go backwards (Kafka allows it: the consumer decides).
    await expectCommitted(await a.commit([{ topic, partition: 1, offset: 0, metadata: "again" }]), 1);
    expect((await storedOffsets(group))[1]).toEqual({ topic, partition: 1, offset: 0, metadata: "again", resetId: 0 });

    // A member that takes over reads exactly what was not processed.
    expect(
      (
        await produce(
          topic,
          [5, 6, 7].map((i) => ({ value: `r${i}`, partition: 0 })),
        )
      ).status,
    ).toBe(200);
    await a.leave();
    const b = await Member.join(group, { topics: [topic] });
    expect(sorted(b.answer.assignment)).toEqual(all(topic, 2));
    const from = (await storedOffsets(group)).find((o) => o.partition === 0)!.offset;
    const rest = (await (await fetchRecords(topic, 0, `offset=${from}`)).json()) as { records: { offset: number; value: string }[] };
    expect(rest.records.map((r) => [r.offset, r.value])).toEqual([
      [5, "r5"],
      [6, "r6"],
      [7, "r7"],
    ]);
  });

  it("a commit with a stale (or future) generation is 409 ILLEGAL_GENERATION and changes nothing", async () => {
    const topic = uniqueTopic("stale-gen");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-stale-gen");
    const a = await Member.join(group, { topics: [topic] });
    await expectCommitted(await a.commit([{ topic, partition: 0, offset: 1 }]), 1);
    const old = a.generation;
    const b = await Member.join(group, { topics: [topic] }, a.log);
    expect(b.generation).toBe(old + 1);
    // a still owns partition 0 (it has not heartbeated), but its generation is stale.
    await expectError(await a.commit([{ topic, partition: 0, offset: 2 }], old), 409, "ILLEGAL_GENERATION");
    await expectError(await a.commit([{ topic, partition: 0, offset: 2 }], old + 5), 409, "ILLEGAL_GENERATION");
    expect(await storedOffsets(group)).toEqual([{ topic, partition: 0, offset: 1, metadata: null, resetId: 0 }]);
    // After a heartbeat it learns the generation and, still owning the partition, may commit.
    await a.heartbeat();
    expect(a.generation).toBe(old + 1);
  });

  it("a commit from an unknown member (never joined, or left) is 404 UNKNOWN_MEMBER_ID and changes nothing", async () => {
    const topic = uniqueTopic("unknown-member");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-unknown-member");
    const a = await Member.join(group, { topics: [topic] });
    await expectCommitted(await a.commit([{ topic, partition: 0, offset: 3 }]), 1);
    await expectError(
      await commitRes(group, crypto.randomUUID(), a.generation, [{ topic, partition: 0, offset: 9 }]),
      404,
      "UNKNOWN_MEMBER_ID",
    );
    const generation = a.generation;
    await a.leave();
    await expectError(await commitRes(group, a.memberId, generation, [{ topic, partition: 0, offset: 9 }]), 404, "UNKNOWN_MEMBER_ID");
    await expectError(await commitRes(group, a.memberId, generation + 1, [{ topic, partition: 0, offset: 9 }]), 404, "UNKNOWN_MEMBER_ID");
    expect(await storedOffsets(group)).toEqual([{ topic, partition: 0, offset: 3, metadata: null, resetId: 0 }]);
  });

  it("a commit naming a partition the member does not own is 409 REBALANCE_IN_PROGRESS; one naming an owned and a not-owned partition stores neither", async () => {
    const topic = uniqueTopic("not-owned");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-not-owned");
    const a = await Member.join(group, { topics: [topic] });
    const b = await Member.join(group, { topics: [topic] }, a.log);
    // b's pending partitions are still a's: not b's to commit.
    expect(b.answer.pending.length).toBeGreaterThan(0);
    await expectError(await b.commit([{ ...b.answer.pending[0], offset: 1 }]), 409, "REBALANCE_IN_PROGRESS");
    await settle(group, [a, b]);
    const mine = a.answer.assignment[0];
    const theirs = b.answer.assignment[0];
    await expectCommitted(await a.commit([{ ...mine, offset: 1 }]), 1);
    const baseline = await storedOffsets(group);
    await expectError(await a.commit([{ ...theirs, offset: 7 }]), 409, "REBALANCE_IN_PROGRESS");
    await expectError(
      await a.commit([
        { ...mine, offset: 7 },
        { ...theirs, offset: 7 },
      ]),
      409,
      "REBALANCE_IN_PROGRESS",
    );
    await expectError(
      await a.commit([
        { ...theirs, offset: 7 },
        { ...mine, offset: 7 },
      ]),
      409,
      "REBALANCE_IN_PROGRESS",
    );
    expect(await storedOffsets(group)).toEqual(baseline);
    expect(baseline).toEqual([{ ...mine, offset: 1, metadata: null, resetId: 0 }]);
  });

  it("during a handover the old owner may still commit a partition it was told to give up until its next heartbeat, and not after; the new owner gets it only then", async () => {
    const topic = uniqueTopic("handover");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-handover");
    const a = await Member.join(group, { topics: [topic] });
    expect(sorted(a.answer.assignment)).toEqual(all(topic, 4));
    const b = await Member.join(group, { topics: [topic] }, a.log);
    const moving = sorted(b.answer.pending);
    expect(moving).toHaveLength(2);
    expect(b.answer.assignment).toEqual([]);

    // Step 1: a hears of the new generation; the answer drops the moving partitions.
    const told = await a.heartbeat();
    expect(told.generation).toBe(b.generation);
    expect(told.assignment.map(tpKey)).not.toContain(tpKey(moving[0]));
    expect(told.assignment).toHaveLength(2);
    // b still waits; a commits what it processed on the partition it is giving up.
    expect((await b.heartbeat()).assignment).toEqual([]);
    await expectCommitted(await a.commit([{ ...moving[0], offset: 4, metadata: "last words" }]), 1);
    await expectError(await b.commit([{ ...moving[0], offset: 5 }]), 409, "REBALANCE_IN_PROGRESS");

    // Step 2: a's next heartbeat releases it; a may no longer commit it, b gets it.
    await a.heartbeat();
    await expectError(await a.commit([{ ...moving[0], offset: 6 }]), 409, "REBALANCE_IN_PROGRESS");
    const taken = await b.heartbeat();
    expect(sorted(taken.assignment)).toEqual(moving);
    expect(taken.pending).toEqual([]);
    expect((await storedOffsets(group)).find((o) => tpKey(o) === tpKey(moving[0]))).toMatchObject({ offset: 4, metadata: "last words" });
    await expectCommitted(await b.commit([{ ...moving[0], offset: 5 }]), 1);
    expect((await describeGroup(group)).state).toBe("Stable");
    expect(a.log.check()).toEqual([]);
  });

  it("an owner keeps the right to commit a partition until the heartbeat after the answer that dropped it, even when a second rebalance drops it mid-handover", async () => {
    // Regression: a rebalance during a handover kept the member's "told" flag, so its next heartbeat
    // released partitions that no answer had yet told it to give up, and refused their final commit.
    // range over static members sorted by instanceId makes every target predictable.
    const topic = uniqueTopic("double");
    await createTopic(topic, 4);
    const group = uniqueTopic("g-double");
    const b = await Member.join(group, { topics: [topic], assignor: "range", instanceId: "m-b" });
    expect(b.answer.assignment).toEqual(all(topic, 4));
    const c = await Member.join(group, { topics: [topic], instanceId: "m-c" }, b.log);
    // Generation 2: m-b {0,1}, m-c {2,3}. b is told to give up 2 and 3.
    expect((await b.heartbeat()).assignment).toEqual(all(topic, 2));
    const a = await Member.join(group, { topics: [topic], instanceId: "m-a" }, b.log);
    // Generation 3: m-a {0,1}, m-b {2}, m-c {3}. This answer is the first to drop 0 and 1 from b.
    const told = await b.heartbeat();
    expect(told.generation).toBe(3);
    expect(told.assignment).toEqual([{ topic, partition: 2 }]);
    await expectCommitted(await b.commit([{ topic, partition: 0, offset: 10 }]), 1);
    // The next heartbeat releases them.
    await b.heartbeat();
    await expectError(await b.commit([{ topic, partition: 0, offset: 11 }]), 409, "REBALANCE_IN_PROGRESS");
    const described = await settle(group, [a, b, c]);
    expectCovering([a, b, c], described, all(topic, 4));
    expect(a.answer.assignment).toEqual(all(topic, 2));
    expect((await storedOffsets(group)).map((o) => [o.partition, o.offset])).toEqual([[0, 10]]);
    expect(b.log.check()).toEqual([]);
  });
});

/**
 * An at-least-once consumer as an application would write it over the HTTP API: heartbeat, then
 * for each assigned partition read from the committed offset, process, and commit.
 */
class Consumer {
  readonly member: Member;

  constructor(member: Member) {
    this.member = member;
  }

  /** One poll, recording every record processed in `consumed`; answers how many. `commit: false` processes without committing (a crash before the commit). */
  async poll(consumed: Consumed[], { maxRecords = 10, commit = true } = {}): Promise<number> {
    const { group } = this.member;
    const answer = await this.member.heartbeat();
    const committed = new Map((await storedOffsets(group)).map((o) => [tpKey(o), o.offset]));
    let processed = 0;
    for (const tp of answer.assignment) {
      const from = committed.get(tpKey(tp)) ?? 0;
      const res = await fetchRecords(tp.topic, tp.partition, `offset=${from}&maxRecords=${maxRecords}`);
      const body = (await res.json()) as { records: { offset: number; value: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      if (body.records.length === 0) continue;
      for (const r of body.records) consumed.push({ by: this.member.who, partition: tp.partition, offset: r.offset, value: r.value });
      processed += body.records.length;
      if (commit)
        await expectCommitted(await this.member.commit([{ ...tp, offset: body.records.at(-1)!.offset + 1 }], answer.generation), 1);
    }
    return processed;
  }
}

type Consumed = { by: string; partition: number; offset: number; value: string };

/** Produces 400 records, 100 to each of four partitions; answers the value stored at each (partition, offset). */
async function produce400(topic: string): Promise<Map<string, string>> {
  const stored = new Map<string, string>();
  for (let batch = 0; batch < 4; batch++) {
    const records = Array.from({ length: 100 }, (_, i) => ({ value: `v-${batch * 100 + i}`, partition: (batch * 100 + i) % 4 }));
    const res = await produce(topic, records);
    const body = (await res.json()) as { offsets: { partition: number; offset: number }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    body.offsets.forEach((o, i) => stored.set(`${o.partition}/${o.offset}`, records[i].value));
  }
  expect(stored.size).toBe(400);
  return stored;
}

/** Checks a consumption history against what was stored: duplicates (outside `allowed`), gaps, wrong values. */
function checkConsumed(
  consumed: Consumed[],
  stored: Map<string, string>,
  allowed: (partition: number, offset: number) => boolean = () => false,
): string[] {
  const anomalies: string[] = [];
  const seen = new Map<string, string>();
  for (const c of consumed) {
    const slot = `${c.partition}/${c.offset}`;
    if (stored.get(slot) !== c.value) anomalies.push(`${slot}: read ${c.value}, stored ${stored.get(slot)}`);
    if (seen.has(slot) && !allowed(c.partition, c.offset)) anomalies.push(`${slot} consumed twice: by ${seen.get(slot)} and by ${c.by}`);
    seen.set(slot, c.by);
  }
  for (const slot of stored.keys()) if (!seen.has(slot)) anomalies.push(`${slot} was never consumed`);
  return anomalies;
}

async function drain(consumers: Consumer[], consumed: Consumed[], total: number): Promise<void> {
  for (let round = 0; round < 100; round++) {
    let processed = 0;
    for (const c of consumers) processed += await c.poll(consumed);
    if (processed === 0 && new Set(consumed.map((c) => `${c.partition}/${c.offset}`)).size >= total) return;
  }
  throw new Error("consumers did not drain the topic in 100 rounds");
}

describe("queue and publish-subscribe semantics", () => {
  it("within a group of two members, each of 400 records over 4 partitions is consumed exactly once when nothing fails, across the rebalance when the second joins", async () => {
    const topic = uniqueTopic("queue");
    await createTopic(topic, 4);
    const stored = await produce400(topic);
    const group = uniqueTopic("g-queue");
    const consumed: Consumed[] = [];
    const a = new Consumer(await Member.join(group, { topics: [topic] }));
    // a reads alone for a while, then b joins and takes half of a's partitions mid-stream.
    expect(await a.poll(consumed)).toBe(40);
    const b = new Consumer(await Member.join(group, { topics: [topic] }, a.member.log));
    await drain([a, b], consumed, 400);
    expect(checkConsumed(consumed, stored)).toEqual([]);
    // Both did part of the work, and the committed offsets are at the end of every partition.
    expect(new Set(consumed.map((c) => c.by)).size).toBe(2);
    expect((await storedOffsets(group)).map((o) => [o.partition, o.offset])).toEqual([0, 1, 2, 3].map((p) => [p, 100]));
    const described = await describeGroup(group);
    expect(described.partitions.map((p) => p.lag)).toEqual([0, 0, 0, 0]);
    expect(a.member.log.check()).toEqual([]);
  });

  it("every group reads every record: two groups on one topic each consume all 400, and one group's commits do not move the other's", async () => {
    const topic = uniqueTopic("pubsub");
    await createTopic(topic, 4);
    const stored = await produce400(topic);
    const g1 = uniqueTopic("g-pubsub-1");
    const g2 = uniqueTopic("g-pubsub-2");
    const first: Consumed[] = [];
    const second: Consumed[] = [];
    const a = new Consumer(await Member.join(g1, { topics: [topic] }));
    const b = new Consumer(await Member.join(g1, { topics: [topic] }, a.member.log));
    const solo = new Consumer(await Member.join(g2, { topics: [topic] }));
    await a.poll(first);
    // The second group has read nothing yet: it starts from the beginning.
    expect(await storedOffsets(g2)).toEqual([]);
    for (let round = 0; round < 100; round++) {
      const n = (await a.poll(first)) + (await b.poll(first)) + (await solo.poll(second));
      if (n === 0) break;
    }
    expect(checkConsumed(first, stored)).toEqual([]);
    expect(checkConsumed(second, stored)).toEqual([]);
    expect((await storedOffsets(g2)).map((o) => o.offset)).toEqual([100, 100, 100, 100]);
    expect(a.member.log.check()).toEqual([]);
  });

  it("when a member dies without committing, the survivor takes its partitions after the session timeout and resumes from the last commit: nothing is skipped, and only the dead member's uncommitted records are read twice", async () => {
    const topic = uniqueTopic("die");
    await createTopic(topic, 4);
    const stored = await produce400(topic);
    const group = uniqueTopic("g-die");
    const consumed: Consumed[] = [];
    const doomed = new Consumer(await Member.join(group, { topics: [topic], sessionTimeoutMs: 1_000 }));
    const survivor = new Consumer(await Member.join(group, { topics: [topic] }, doomed.member.log));
    await settle(group, [doomed.member, survivor.member]);
    for (let i = 0; i < 3; i++) {
      expect(await doomed.poll(consumed)).toBe(20);
      expect(await survivor.poll(consumed)).toBe(20);
    }
    // The doomed member processes one more poll and dies before committing it.
    const mark = consumed.length;
    expect(await doomed.poll(consumed, { commit: false })).toBe(20);
    const uncommitted = new Set(consumed.slice(mark).map((c) => `${c.partition}/${c.offset}`));
    const doomedPartitions = new Set(doomed.member.answer.assignment.map((tp) => tp.partition));
    expect(doomedPartitions.size).toBe(2);
    const generation = (await describeGroup(group)).generation;

    // Until its session times out, the survivor does not get the dead member's partitions.
    expect(await survivor.poll(consumed)).toBe(20);
    expect(survivor.member.answer.assignment).toHaveLength(2);
    await sleep(1_100);
    await runDurableObjectAlarm(groupStub(group)); // (it may have run by itself already)
    doomed.member.log.gone(doomed.member.who);
    await expectError(await heartbeatRes(group, doomed.member.memberId), 404, "UNKNOWN_MEMBER_ID");
    const described = await describeGroup(group);
    expect(described.generation).toBe(generation + 1);
    expect(described.members.map((m) => m.memberId)).toEqual([survivor.member.memberId]);

    await drain([survivor], consumed, 400);
    expect(sorted(survivor.member.answer.assignment)).toEqual(all(topic, 4));
    expect(checkConsumed(consumed, stored, (p, o) => uncommitted.has(`${p}/${o}`))).toEqual([]);
    // Exactly the uncommitted range came twice: once to the dead member, once to the survivor.
    const twice = new Map<string, number>();
    for (const c of consumed) twice.set(`${c.partition}/${c.offset}`, (twice.get(`${c.partition}/${c.offset}`) ?? 0) + 1);
    const duplicated = [...twice].filter(([, n]) => n > 1).map(([slot]) => slot);
    expect(duplicated.sort()).toEqual([...uncommitted].sort());
    for (const slot of uncommitted)
      expect(consumed.filter((c) => `${c.partition}/${c.offset}` === slot).map((c) => c.by)).toEqual([
        doomed.member.who,
        survivor.member.who,
      ]);
    expect(doomed.member.log.check()).toEqual([]);
  });
});
