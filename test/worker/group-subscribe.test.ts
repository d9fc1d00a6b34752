/**
 * The group subscription: one WebSocket per group member carrying every partition it is assigned,
 * served by the member's GroupSession object, against the real group, controller and partition
 * objects. Every records frame a test receives is checked for order, gaps and duplicates per
 * partition, and for a partition sent to two members in one generation.
 */
import { abortAllDurableObjects, createExecutionContext, env, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { utf8Length } from "../../protocol/utf8";
import { groupApi, groupStub, sleep, type Answer, type TP } from "./group-helpers";
import worker from "../../worker/index";
import { BASE, api, createTopic, expectError, produce, uniqueTopic } from "./helpers";
import { openSocket, type Frame, type Socket } from "./socket";

const { join, commit, describeGroup } = groupApi(api);

interface Assigned extends TP {
  committed: number | null;
  resetId: number | null;
}
interface AssignmentFrame {
  type: "assignment";
  generation: number;
  assignment: Assigned[];
  revoked: TP[];
}
interface RecordsFrame {
  type: "records";
  topic: string;
  partition: number;
  generation: number;
  records: { offset: number; value: unknown }[];
  nextOffset: number;
  highWatermark: number;
  bytes: number;
}
interface ErrorFrame {
  type: "error";
  error: { code: string; message: string; retriable: boolean };
}

const is = (type: string) => (f: Frame) => (f as { type?: string }).type === type;
const tpKey = (tp: TP) => `${tp.topic}/${tp.partition}`;
const keys = (tps: TP[]) => tps.map(tpKey).sort();
const all = (topic: string, n: number): TP[] => Array.from({ length: n }, (_, partition) => ({ topic, partition }));

function subscribe(group: string, memberId: string, query = ""): Promise<Socket> {
  return openSocket(`/v1/groups/${group}/members/${memberId}/subscribe${query}`);
}

/** Produces `count` records to each partition, values "<partition>-<i>" from `from` on. */
async function produceEach(topic: string, partitions: number, count: number, from = 0): Promise<void> {
  const records = [];
  for (let p = 0; p < partitions; p++) for (let i = from; i < from + count; i++) records.push({ value: `${p}-${i}`, partition: p });
  expect((await produce(topic, records)).status).toBe(200);
}

/** The next frame of `type` (that matches `where`) after those already taken. */
async function nextFrame<T>(s: Socket, type: string, where: (f: T) => boolean = () => true, timeoutMs?: number): Promise<T> {
  return (await s.next((f) => is(type)(f) && where(f as unknown as T), timeoutMs)) as unknown as T;
}
const framesOf = <T>(s: Socket, type: string) => s.frames.filter(is(type)) as unknown as T[];
const recordsFrames = (s: Socket) => framesOf<RecordsFrame>(s, "records");
const assignments = (s: Socket) => framesOf<AssignmentFrame>(s, "assignment");
/** Offsets received per partition, in arrival order. */
function received(s: Socket): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const f of recordsFrames(s)) out.set(tpKey(f), [...(out.get(tpKey(f)) ?? []), ...f.records.map((r) => r.offset)]);
  return out;
}
const count = (s: Socket) => recordsFrames(s).reduce((n, f) => n + f.records.length, 0);

/** Waits (bounded) until `condition` holds. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(25);
  }
}

/** What every test's frames must satisfy: per partition in order, gapless from its first offset, no duplicate, and frames that say so. */
function expectOrderly(...sockets: Socket[]): void {
  const owners = new Map<string, number>(); // "generation topic/partition" -> socket index
  const offsets = new Map<string, number[]>();
  sockets.forEach((s, i) => {
    for (const f of recordsFrames(s)) {
      const slot = `${f.generation} ${tpKey(f)}`;
      expect(owners.get(slot) ?? i, `${slot} sent to two members`).toBe(i);
      owners.set(slot, i);
      expect(f.nextOffset).toBe(f.records[f.records.length - 1].offset + 1);
      offsets.set(tpKey(f), [...(offsets.get(tpKey(f)) ?? []), ...f.records.map((r) => r.offset)]);
    }
  });
  for (const [tp, list] of offsets) expect(list, tp).toEqual(Array.from({ length: list.length }, (_, k) => list[0] + k));
}

/**
 * A topic of `partitions` with `each` records in each partition, a group, a member that joined it
 * (with `body`'s options), and the member's socket after its first assignment frame.
 */
async function setUp(prefix: string, partitions: number, each: number, body: Record<string, unknown> = {}) {
  const topic = uniqueTopic(prefix);
  await createTopic(topic, partitions);
  if (each > 0) await produceEach(topic, partitions, each);
  const group = uniqueTopic(`g-${prefix}`);
  const member = await join(group, { topics: [topic], ...body });
  const s = await subscribe(group, member.memberId);
  const first = await nextFrame<AssignmentFrame>(s, "assignment");
  return { topic, group, member, s, first };
}

describe("a group subscription", () => {
  it("sends every assigned partition over one socket, from the committed offset or the one the client states, in order, with no gap or duplicate", async () => {
    const topic = uniqueTopic("one-socket");
    await createTopic(topic, 3);
    await produceEach(topic, 3, 5);
    const group = uniqueTopic("g-one");
    const a = await join(group, { topics: [topic] });
    await commit(group, a, [{ topic, partition: 1, offset: 2 }]);
    const s = await subscribe(group, a.memberId);
    const first = await nextFrame<AssignmentFrame>(s, "assignment");
    expect(s.frames).toHaveLength(1);
    expect(first).toEqual({
      type: "assignment",
      generation: a.generation,
      assignment: [
        { topic, partition: 0, committed: null, resetId: null },
        { topic, partition: 1, committed: 2, resetId: 0 },
        { topic, partition: 2, committed: null, resetId: null },
      ],
      revoked: [],
    });
    s.send({ type: "credit", records: 1_000 });
    s.send({
      type: "start",
      partitions: [
        { topic, partition: 0 },
        { topic, partition: 1 },
        { topic, partition: 2, offset: 3 },
      ],
    });
    await until(() => count(s) === 5 + 3 + 2);
    await produceEach(topic, 3, 3, 5);
    await until(() => count(s) === 10 + 9);
    const got = received(s);
    expect(got.get(`${topic}/0`)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(got.get(`${topic}/1`)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(got.get(`${topic}/2`)).toEqual([3, 4, 5, 6, 7]);
    const values = recordsFrames(s).flatMap((f) => f.records.map((r) => [f.partition, r.offset, r.value]));
    expect(values.every(([p, offset, value]) => value === `${p}-${offset}`)).toBe(true);
    expectOrderly(s);
    s.ws.close(1000);
  });

  it("with isolation=read_committed sends a transaction's records only once committed, never an aborted one, and nothing past an open one", async () => {
    const topic = uniqueTopic("g-committed");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-rc");
    const member = await join(group, { topics: [topic] });
    const s = await subscribe(group, member.memberId, "?isolation=read_committed");
    await nextFrame<AssignmentFrame>(s, "assignment");
    s.send({ type: "credit", records: 1_000 });
    s.send({ type: "start", partitions: [{ topic, partition: 0 }] });
    const id = uniqueTopic("tid");
    const p = (await (await api("/v1/producers", { method: "POST", json: { transactionalId: id } })).json()) as {
      producerId: number;
      producerEpoch: number;
    };
    const headers = {
      "edgelog-transactional-id": id,
      "edgelog-producer-id": String(p.producerId),
      "edgelog-producer-epoch": String(p.producerEpoch),
    };
    const txn = async (value: string, outcome: "commit" | "abort") => {
      await api(`/v1/transactions/${id}/partitions`, { method: "POST", json: { ...p, partitions: [{ topic, partition: 0 }] } });
      expect(
        (await api(`/v1/topics/${topic}/records`, { method: "POST", headers, json: { records: [{ value, partition: 0 }] } })).status,
      ).toBe(200);
      return async () => expect((await api(`/v1/transactions/${id}/${outcome}`, { method: "POST", json: p })).status).toBe(200);
    };
    const endAborted = await txn("aborted", "abort");
    expect((await produce(topic, [{ value: "plain", partition: 0 }])).status).toBe(200);
    await sleep(200);
    // The open transaction at offset 0 holds everything after it back.
    expect(count(s)).toBe(0);
    await endAborted();
    await (await txn("committed", "commit"))();
    await until(() => count(s) === 2);
    expect(recordsFrames(s).flatMap((f) => f.records.map((r) => r.value))).toEqual(["plain", "committed"]);
    s.ws.close(1000);
  });

  it("sends nothing before the first credit and never past the credit granted, in records or in bytes", async () => {
    const { topic, group, member: a, s } = await setUp("credit", 2, 10);
    s.send({ type: "start", partitions: all(topic, 2) });
    await sleep(300);
    expect(count(s)).toBe(0);
    s.send({ type: "credit", records: 3 });
    await until(() => count(s) === 3);
    await sleep(300);
    expect(count(s)).toBe(3);
    s.send({ type: "credit", records: 4 });
    await until(() => count(s) === 7);
    await sleep(300);
    expect(count(s)).toBe(7);
    expectOrderly(s);
    s.ws.close(1000);

    // Bytes: each frame says what it took (the UTF-8 size of its records' JSON), and the sum never passes the grant.
    const b = await subscribe(group, a.memberId);
    await b.next(is("assignment"));
    b.send({ type: "start", partitions: all(topic, 2) });
    b.send({ type: "credit", bytes: 400 });
    await until(() => count(b) > 0);
    await sleep(300);
    const spent = () => recordsFrames(b).reduce((n, f) => n + f.bytes, 0);
    expect(spent()).toBeLessThanOrEqual(400);
    for (const f of recordsFrames(b)) expect(f.bytes).toBe(f.records.reduce((n, r) => n + utf8Length(JSON.stringify(r)), 0));
    const before = count(b);
    b.send({ type: "credit", bytes: 400 });
    await until(() => count(b) > before);
    await sleep(300);
    expect(spent()).toBeLessThanOrEqual(800);
    expect(count(b)).toBeLessThan(20);
    expectOrderly(b);
    b.ws.close(1000);
  });

  it("sends records that arrive while its partitions wait for them within the credit too", async () => {
    const { topic, s } = await setUp("credit-idle", 2, 0);
    s.send({ type: "start", partitions: all(topic, 2) });
    s.send({ type: "credit", records: 3 });
    await sleep(300); // both partitions caught up, waiting at their leaders
    await produceEach(topic, 2, 5);
    await until(() => count(s) === 3);
    await sleep(300);
    expect(count(s)).toBe(3);
    s.send({ type: "credit", records: 100 });
    await until(() => count(s) === 10);
    expectOrderly(s);
    s.ws.close(1000);
  });

  it("moves partitions to a member that joins with the two-step handover: the first member is told, commits and releases, and only then does the second receive them; no record is sent twice", async () => {
    const { topic, group, member: a, s: sa, first } = await setUp("handover", 4, 10, { sessionTimeoutMs: 3_000 });
    expect(keys(first.assignment)).toEqual(keys(all(topic, 4)));
    sa.send({ type: "credit", records: 10_000 });
    sa.send({ type: "start", partitions: all(topic, 4) });
    await until(() => count(sa) === 40);

    const b = await join(group, { topics: [topic], sessionTimeoutMs: 3_000 });
    const sb = await subscribe(group, b.memberId);
    sb.send({ type: "credit", records: 10_000 });
    // A's session learns of the rebalance at its next heartbeat and takes two partitions away.
    const revoking = await nextFrame<AssignmentFrame>(sa, "assignment", (f) => f.revoked.length > 0);
    expect(revoking.generation).toBe(b.generation);
    expect(revoking.revoked).toHaveLength(2);
    expect(revoking.assignment).toHaveLength(2);
    const moved = revoking.revoked;
    // Until A releases them, B does not get them, however often B's session heartbeats (every 100 ms while it waits).
    await sleep(800);
    const bFrames = assignments(sb);
    expect(bFrames.length).toBeGreaterThan(0);
    for (const f of bFrames) expect(keys(f.assignment).filter((k) => keys(moved).includes(k))).toEqual([]);
    expect(recordsFrames(sb)).toEqual([]);
    // A commits what it processed of them (10 each) and releases.
    const aNow: Answer = { ...a, generation: revoking.generation };
    await commit(
      group,
      aNow,
      moved.map((tp) => ({ ...tp, offset: 10 })),
    );
    sa.send({ type: "released", generation: revoking.generation });
    const handed = await nextFrame<AssignmentFrame>(sb, "assignment", (f) => f.assignment.length === 2, 10_000);
    expect(keys(handed.assignment)).toEqual(keys(moved));
    expect(handed.assignment.map((p) => p.committed)).toEqual([10, 10]);
    sb.send({ type: "start", partitions: moved });
    await produceEach(topic, 4, 5, 10);
    await until(() => count(sa) === 40 + 10 && count(sb) === 10);
    await sleep(300);
    // Every record once: A read all 40 and then its two partitions' new five; B the moved ones' new five.
    const all60 = [...recordsFrames(sa), ...recordsFrames(sb)].flatMap((f) => f.records.map((r) => `${f.partition}/${r.offset}`));
    expect(all60).toHaveLength(60);
    expect(new Set(all60).size).toBe(60);
    for (const tp of moved) expect(received(sb).get(tpKey(tp))).toEqual([10, 11, 12, 13, 14]);
    expectOrderly(sa, sb);
    const described = await describeGroup(group);
    expect(described.state).toBe("Stable");
    sa.ws.close(1000);
    sb.ws.close(1000);
  }, 30_000);

  it("keeps a revocation waiting for its release across a restart of every object: the reconnected client is told again, and the partition moves only once it releases", async () => {
    // A 20 s session timeout: heartbeats every 3 s, and a release deadline (10 s) the test stays within.
    const { topic, group, member: a, s: sa } = await setUp("restart", 2, 0, { sessionTimeoutMs: 20_000 });
    const b = await join(group, { topics: [topic], sessionTimeoutMs: 20_000 });
    const revoking = await nextFrame<AssignmentFrame>(sa, "assignment", (f) => f.revoked.length > 0, 10_000);
    await abortAllDurableObjects();
    await sa.closed;
    const again = await subscribe(group, a.memberId);
    const told = await nextFrame<AssignmentFrame>(again, "assignment");
    expect(told).toEqual(revoking);
    const sb = await subscribe(group, b.memberId);
    await nextFrame<AssignmentFrame>(sb, "assignment");
    await sleep(800);
    for (const f of assignments(sb)) expect(f.assignment).toEqual([]);
    again.send({ type: "released", generation: told.generation });
    const handed = await nextFrame<AssignmentFrame>(sb, "assignment", (f) => f.assignment.length === 1);
    expect(keys(handed.assignment)).toEqual(keys(revoking.revoked));
    again.ws.close(1000);
    sb.ws.close(1000);
  }, 30_000);

  it("keeps its member alive past the session timeout while the socket is open, with no request from the client; once it closes the member expires", async () => {
    const { topic, group, member: a, s } = await setUp("alive", 1, 0, { sessionTimeoutMs: 1_000 });
    await sleep(2_500);
    await runDurableObjectAlarm(groupStub(group)); // expiry runs by the group's alarm
    expect((await describeGroup(group)).members.map((m) => m.memberId)).toEqual([a.memberId]);
    // A reconnect within the session timeout keeps the member and its partitions.
    s.ws.close(1000);
    await s.closed;
    const again = await subscribe(group, a.memberId);
    const frame = await nextFrame<AssignmentFrame>(again, "assignment");
    expect(frame.generation).toBe(a.generation);
    expect(keys(frame.assignment)).toEqual(keys(all(topic, 1)));
    again.ws.close(1000);
    await again.closed;
    await until(async () => {
      await runDurableObjectAlarm(groupStub(group));
      return (await describeGroup(group)).members.length === 0;
    });
    await expectError(await api(`/v1/groups/${group}/members/${a.memberId}/heartbeat`, { method: "POST" }), 404, "UNKNOWN_MEMBER_ID");
  }, 20_000);

  it("tells an unknown member, a fenced one and one that left so over the socket (4025, 4082), and refuses requests that are not upgrades or name a bad group", async () => {
    const topic = uniqueTopic("refuse");
    await createTopic(topic, 1);
    const group = uniqueTopic("g-refuse");

    const unknown = await subscribe(group, "no-such-member");
    expect((await nextFrame<ErrorFrame>(unknown, "error")).error.code).toBe("UNKNOWN_MEMBER_ID");
    const closed = await unknown.closed;
    expect(closed.code).toBe(4025);
    expect(JSON.parse(closed.reason)).toEqual({ code: "UNKNOWN_MEMBER_ID" });

    const old = await join(group, { topics: [topic], instanceId: "tab-1" });
    await join(group, { topics: [topic], instanceId: "tab-1" });
    const fenced = await subscribe(group, old.memberId);
    expect((await nextFrame<ErrorFrame>(fenced, "error")).error.code).toBe("FENCED_INSTANCE_ID");
    expect((await fenced.closed).code).toBe(4082);

    const leaving = await join(group, { topics: [topic], sessionTimeoutMs: 3_000 });
    const s = await subscribe(group, leaving.memberId);
    await s.next(is("assignment"));
    expect((await api(`/v1/groups/${group}/members/${leaving.memberId}`, { method: "DELETE" })).status).toBe(200);
    expect((await s.closed).code).toBe(4025);

    await expectError(await api(`/v1/groups/${group}/members/${old.memberId}/subscribe`), 400, "INVALID_REQUEST");
    const badGroup = await api(`/v1/groups/bad%20group/members/${old.memberId}/subscribe`, { headers: { upgrade: "websocket" } });
    await expectError(badGroup, 400, "INVALID_GROUP_ID");
    const badReset = await api(`/v1/groups/${group}/members/${old.memberId}/subscribe?autoOffsetReset=never`, {
      headers: { upgrade: "websocket" },
    });
    await expectError(badReset, 400, "INVALID_REQUEST");
  }, 20_000);

  it("with auth on, takes the token as ?access_token= on the upgrade (browsers cannot set headers) and refuses the upgrade without it", async () => {
    const { group, member } = await setUp("auth", 1, 0);
    const upgrade = async (query: string) => {
      const ctx = createExecutionContext();
      const request = new Request(`${BASE}/v1/groups/${group}/members/${member.memberId}/subscribe${query}`, {
        headers: { upgrade: "websocket" },
      });
      const res = await worker.fetch(request, { ...env, EDGELOG_TOKEN: "s3cret" }, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    await expectError(await upgrade(""), 401, "SASL_AUTHENTICATION_FAILED");
    await expectError(await upgrade("?access_token=wrong"), 401, "SASL_AUTHENTICATION_FAILED");
    const res = await upgrade("?access_token=s3cret");
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const first = await new Promise<AssignmentFrame>((resolve) =>
      ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string))),
    );
    expect(first).toMatchObject({ type: "assignment", generation: member.generation });
    ws.close(1000);
  });

  it("refuses malformed frames, a start of a partition not assigned, and a stale generation with error frames, and keeps serving", async () => {
    const other = uniqueTopic("frames-other");
    await createTopic(other, 1);
    const { topic, member: a, s } = await setUp("frames", 2, 2);
    const refusal = async (frame: unknown) => {
      s.send(frame);
      return (await nextFrame<ErrorFrame>(s, "error")).error;
    };
    for (const bad of [
      "not json",
      "[1]",
      { type: "nope" },
      { type: "credit", records: -1 },
      { type: "credit" },
      { type: "start", partitions: [] },
      { type: "start", partitions: [{ topic }] },
      { type: "released" },
    ]) {
      expect(await refusal(bad), JSON.stringify(bad)).toMatchObject({ code: "INVALID_REQUEST", retriable: false });
    }
    const notMine = await refusal({
      type: "start",
      partitions: [
        { topic: other, partition: 0 },
        { topic, partition: 1 },
      ],
    });
    expect(notMine.code).toBe("REBALANCE_IN_PROGRESS");
    expect(notMine.message).toContain(`${other}/0`);
    expect((await refusal({ type: "start", generation: a.generation + 5, partitions: [{ topic, partition: 0 }] })).code).toBe(
      "ILLEGAL_GENERATION",
    );
    expect((await refusal({ type: "released", generation: a.generation + 5 })).code).toBe("ILLEGAL_GENERATION");
    s.send({ type: "ping" });
    await s.next(is("pong"));
    // Partition 1 was started by the frame that refused only the other topic's partition.
    s.send({ type: "credit", records: 100 });
    await until(() => count(s) === 2);
    expect([...received(s).keys()]).toEqual([`${topic}/1`]);
    s.send({ type: "start", partitions: [{ topic, partition: 0, offset: 1 }] });
    await until(() => count(s) === 3);
    expect(received(s).get(`${topic}/0`)).toEqual([1]);
    s.ws.close(1000);
  });

  it("moves a position that is out of range to the log start, says so with a reset frame, and reads on from there", async () => {
    const { topic, s } = await setUp("range", 1, 3);
    s.send({ type: "credit", records: 100 });
    s.send({ type: "start", partitions: [{ topic, partition: 0, offset: 99 }] });
    const reset = await nextFrame<{ from: number; offset: number; error: { code: string } }>(s, "reset");
    expect(reset).toMatchObject({ topic, partition: 0, from: 99, offset: 0, error: { code: "OFFSET_OUT_OF_RANGE" } });
    await until(() => count(s) === 3);
    expect(received(s).get(`${topic}/0`)).toEqual([0, 1, 2]);
    s.ws.close(1000);
  });

  it("closes an older connection of the same member with 4009 when a newer one opens, and serves the newer one", async () => {
    const { topic, group, member: a, s: first } = await setUp("replace", 1, 2);
    const second = await subscribe(group, a.memberId);
    expect((await first.closed).code).toBe(4009);
    await second.next(is("assignment"));
    second.send({ type: "credit", records: 10 });
    second.send({ type: "start", partitions: [{ topic, partition: 0 }] });
    await until(() => count(second) === 2);
    second.ws.close(1000);
  });
});
