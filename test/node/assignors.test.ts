/**
 * The consumer-group assignors, as pure functions: validity and determinism over many seeded
 * random groups, Kafka's documented examples for range, roundrobin and sticky, and sticky's
 * promises (balance, fewest moves, static members) checked against independent computations.
 */
import { describe, expect, it } from "vitest";
import { EdgelogError } from "../../protocol/errors";
import {
  ASSIGNORS,
  assign,
  isAssignorName,
  type AssignorMember,
  type AssignorName,
  type TopicPartition,
} from "../../worker/group/assignors";

type Assignment = Record<string, TopicPartition[]>;

/** mulberry32: a tiny seeded PRNG, so every random case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (random: () => number, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const shuffle = <T>(random: () => number, items: T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(random, 0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

/** "t0p0 t1p2" -> [{t0,0},{t1,2}]: hand-worked expectations stay readable. */
function tps(text: string): TopicPartition[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => {
      const [, topic, partition] = /^(.+)p(\d+)$/.exec(s)!;
      return { topic, partition: Number(partition) };
    });
}
const member = (memberId: string, topics: string[], current: TopicPartition[] = [], instanceId: string | null = null): AssignorMember => ({
  memberId,
  instanceId,
  topics,
  current,
});
const key = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;
const loads = (out: Assignment): number[] => Object.values(out).map((l) => l.length);
const spread = (out: Assignment): number => Math.max(...loads(out)) - Math.min(...loads(out));
/** Partitions that end with a member whose `current` did not hold them. */
const moved = (members: AssignorMember[], out: Assignment): TopicPartition[] =>
  members.flatMap((m) => out[m.memberId].filter((tp) => !m.current.some((c) => key(c) === key(tp))));
/** The output fed back in as every member's `current`: the next rebalance's starting point. */
const owning = (members: AssignorMember[], out: Assignment): AssignorMember[] =>
  members.map((m) => ({ ...m, current: out[m.memberId] ?? [] }));

/** 1..8 members, 1..4 topics of 0..12 partitions, random subscriptions (sometimes to a topic that does not exist), random and partly invalid `current`. */
function randomGroup(seed: number, { mixed = true } = {}): { members: AssignorMember[]; counts: Record<string, number> } {
  const random = prng(seed);
  const topics = Array.from({ length: int(random, 1, 4) }, (_, i) => `t${i}`);
  const counts = Object.fromEntries(topics.map((t) => [t, int(random, 0, 12)]));
  const all = [...topics, "gone"];
  const members = Array.from({ length: int(random, 1, 8) }, (_, i) => {
    const subscribed = mixed ? all.filter(() => random() < 0.6) : topics;
    const current = Array.from({ length: int(random, 0, 6) }, () => ({
      topic: all[int(random, 0, all.length - 1)],
      partition: int(random, -1, 13),
    }));
    return member(`m${i}`, subscribed, current, random() < 0.3 ? `static-${int(random, 0, 9)}-${i}` : null);
  });
  return { members: shuffle(random, members), counts };
}

/** Every subscribed, existing partition exactly once, only to a subscriber; every member listed, sorted, and nobody else. */
function expectValid(members: AssignorMember[], counts: Record<string, number>, out: Assignment): void {
  expect(Object.keys(out).sort()).toEqual(members.map((m) => m.memberId).sort());
  const expected = [...new Set(members.flatMap((m) => m.topics))]
    .filter((t) => t in counts)
    .flatMap((topic) => Array.from({ length: counts[topic] }, (_, partition) => key({ topic, partition })));
  const given = members.flatMap((m) => out[m.memberId].map(key));
  expect([...given].sort()).toEqual(expected.sort());
  for (const m of members) {
    for (const tp of out[m.memberId]) expect(m.topics).toContain(tp.topic);
    expect(out[m.memberId]).toEqual(
      [...out[m.memberId]].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)),
    );
  }
}

/** An independent check of sticky's balance: no chain of hand-offs leads from a member with load h to one with load <= h - 2. */
function improvingChain(members: AssignorMember[], out: Assignment): string | null {
  const load = (id: string) => out[id].length;
  for (const start of members) {
    const seen = new Set([start.memberId]);
    const queue = [start];
    while (queue.length > 0) {
      const u = queue.shift()!;
      for (const v of members) {
        if (seen.has(v.memberId) || !out[u.memberId].some((tp) => v.topics.includes(tp.topic))) continue;
        if (load(v.memberId) <= load(start.memberId) - 2) return `${start.memberId} -> ... -> ${v.memberId}`;
        seen.add(v.memberId);
        queue.push(v);
      }
    }
  }
  return null;
}

/** Over every valid assignment of a small group: the least largest load, the greatest smallest load, the least sum of squared loads. */
function bestPossible(members: AssignorMember[], counts: Record<string, number>): { max: number; min: number; squares: number } {
  const partitions = Object.keys(counts).flatMap((topic) =>
    Array.from({ length: counts[topic] }, () => members.flatMap((m, i) => (m.topics.includes(topic) ? [i] : []))),
  );
  const load = members.map(() => 0);
  const best = { max: Infinity, min: -Infinity, squares: Infinity };
  const visit = (i: number): void => {
    if (i === partitions.length) {
      best.max = Math.min(best.max, Math.max(...load));
      best.min = Math.max(best.min, Math.min(...load));
      best.squares = Math.min(
        best.squares,
        load.reduce((s, l) => s + l * l, 0),
      );
      return;
    }
    for (const m of partitions[i]) {
      load[m]++;
      visit(i + 1);
      load[m]--;
    }
  };
  visit(0);
  return best;
}

describe.each(ASSIGNORS)("the %s assignor", (name) => {
  it("assigns every partition of every subscribed, existing topic exactly once, only to a subscriber, and lists every member", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const { members, counts } = randomGroup(seed);
      expectValid(members, counts, assign(name, members, counts));
    }
  });

  it("answers the same for the same input, whatever the order of the members array", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { members, counts } = randomGroup(seed);
      const first = assign(name, members, counts);
      expect(assign(name, members, counts)).toEqual(first);
      expect(JSON.stringify(assign(name, shuffle(prng(seed + 1000), members), counts))).toBe(JSON.stringify(first));
    }
  });

  it("answers {} for an empty group, and an empty list for a member whose topics do not exist", () => {
    expect(assign(name, [], { t0: 3 })).toEqual({});
    expect(assign(name, [member("a", ["gone"]), member("b", ["t0"])], { t0: 2 })).toEqual({ a: [], b: tps("t0p0 t0p1") });
  });

  it("keeps a memberId such as __proto__ as an ordinary key", () => {
    const out = assign(name, [member("__proto__", ["t0"])], { t0: 1 });
    expect(Object.keys(out)).toEqual(["__proto__"]);
    // biome-ignore lint/suspicious/noProto: the key under test is the string "__proto__", read as an own property
    expect(out["__proto__"]).toEqual(tps("t0p0"));
  });
});

describe("range", () => {
  it("splits each topic into contiguous runs, as Kafka's RangeAssignor documents (C0: t0p0 t0p1 t1p0 t1p1, C1: t0p2 t1p2)", () => {
    expect(assign("range", [member("C1", ["t0", "t1"]), member("C0", ["t0", "t1"])], { t0: 3, t1: 3 })).toEqual({
      C0: tps("t0p0 t0p1 t1p0 t1p1"),
      C1: tps("t0p2 t1p2"),
    });
  });

  it("gives the n % k extra partitions to the first members, and nothing to members beyond the partition count", () => {
    const three = ["a", "b", "c"].map((id) => member(id, ["t"]));
    expect(assign("range", three, { t: 7 })).toEqual({ a: tps("tp0 tp1 tp2"), b: tps("tp3 tp4"), c: tps("tp5 tp6") });
    expect(assign("range", three, { t: 2 })).toEqual({ a: tps("tp0"), b: tps("tp1"), c: [] });
  });

  it("splits each topic only among its own subscribers", () => {
    expect(assign("range", [member("C0", ["t0"]), member("C1", ["t0", "t1"])], { t0: 3, t1: 2 })).toEqual({
      C0: tps("t0p0 t0p1"),
      C1: tps("t0p2 t1p0 t1p1"),
    });
  });

  it("gives a static member that rejoins under a new memberId the same partitions, because members sort by instanceId", () => {
    const before = [member("a-1", ["t"], [], "zeta"), member("b-1", ["t"]), member("c-1", ["t"])];
    const after = [member("a-2", ["t"], [], "zeta"), member("b-1", ["t"]), member("c-1", ["t"])];
    expect(assign("range", after, { t: 5 })["a-2"]).toEqual(assign("range", before, { t: 5 })["a-1"]);
    expect(assign("range", after, { t: 5 })["a-2"]).toEqual(tps("tp4"));
  });
});

describe("roundrobin", () => {
  it("deals partitions in (topic, partition) order, as Kafka's RoundRobinAssignor documents (C0: t0p0 t0p2 t1p1, C1: t0p1 t1p0 t1p2)", () => {
    expect(assign("roundrobin", [member("C0", ["t0", "t1"]), member("C1", ["t0", "t1"])], { t0: 3, t1: 3 })).toEqual({
      C0: tps("t0p0 t0p2 t1p1"),
      C1: tps("t0p1 t1p0 t1p2"),
    });
  });

  it("passes the turn over members not subscribed to a partition's topic, as in Kafka's mixed-subscription example", () => {
    const members = [member("C0", ["t0"]), member("C1", ["t0", "t1"]), member("C2", ["t0", "t1", "t2"])];
    expect(assign("roundrobin", members, { t0: 1, t1: 2, t2: 3 })).toEqual({
      C0: tps("t0p0"),
      C1: tps("t1p0"),
      C2: tps("t1p1 t2p0 t2p1 t2p2"),
    });
  });

  it("with identical subscriptions, gives every member the same count within one", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { members, counts } = randomGroup(seed, { mixed: false });
      expect(spread(assign("roundrobin", members, counts))).toBeLessThanOrEqual(1);
    }
  });
});

describe("sticky: balance", () => {
  it("with identical subscriptions and any current, gives every member floor or ceil of partitions/members", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const { members, counts } = randomGroup(seed, { mixed: false });
      const total = Object.values(counts).reduce((s, n) => s + n, 0);
      for (const n of loads(assign("sticky", members, counts))) {
        expect([Math.floor(total / members.length), Math.ceil(total / members.length)]).toContain(n);
      }
    }
  });

  it("with mixed subscriptions, is as balanced as the best valid assignment (checked by trying them all on small groups)", () => {
    let tried = 0;
    for (let seed = 1; tried < 150; seed++) {
      const random = prng(seed);
      const counts = Object.fromEntries(Array.from({ length: int(random, 1, 3) }, (_, i) => [`t${i}`, int(random, 0, 4)]));
      const topics = Object.keys(counts);
      const members = Array.from({ length: int(random, 1, 4) }, (_, i) =>
        member(
          `m${i}`,
          topics.filter(() => random() < 0.6),
        ),
      );
      const choices = topics.reduce((p, t) => p * Math.max(1, members.filter((m) => m.topics.includes(t)).length) ** counts[t], 1);
      if (choices > 50_000 || topics.some((t) => !members.some((m) => m.topics.includes(t)))) continue;
      tried++;
      // Start from a lopsided current, so balance has to be won by moving partitions.
      const lopsided = owning(members, assign("range", members, counts));
      for (const group of [members, lopsided]) {
        const got = loads(assign("sticky", group, counts));
        const best = bestPossible(members, counts);
        expect({ max: Math.max(...got), min: Math.min(...got), squares: got.reduce((s, l) => s + l * l, 0) }).toEqual(best);
      }
    }
  });

  it("with mixed subscriptions, leaves no chain of hand-offs that would move a partition from a member to one with two fewer", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const { members, counts } = randomGroup(seed);
      expect(improvingChain(members, assign("sticky", members, counts)), `seed ${seed}`).toBeNull();
    }
  });

  it("balances when only a chain can help: the busiest member's partitions fit nobody, but its neighbour's do", () => {
    // a owns 3 of t0; b (t0, t1) owns 2 of t1; c (t1 only) owns nothing. a cannot give to c directly.
    const members = [member("a", ["t0"], tps("t0p0 t0p1 t0p2")), member("b", ["t0", "t1"], tps("t1p0 t1p1")), member("c", ["t1"])];
    const out = assign("sticky", members, { t0: 3, t1: 2 });
    expect(loads(out)).toEqual([2, 2, 1]);
    expect(moved(members, out)).toHaveLength(2);
  });

  it("in a chain, a member passes on a partition it was just given rather than one it owned", () => {
    // The new t1p2 first lands on b (tied with c, b sorts first); balancing then needs a -> b -> c.
    const members = [member("a", ["t0"], tps("t0p0 t0p1 t0p2")), member("b", ["t0", "t1"], tps("t1p0")), member("c", ["t1"], tps("t1p1"))];
    const out = assign("sticky", members, { t0: 3, t1: 3 });
    expect(out).toEqual({ a: tps("t0p1 t0p2"), b: tps("t0p0 t1p0"), c: tps("t1p1 t1p2") });
    expect(moved(members, out)).toEqual(tps("t0p0 t1p2"));
  });
});

describe("sticky: moves", () => {
  it("with no change in the group, returns exactly the current assignment (also with mixed subscriptions)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      for (const mixed of [false, true]) {
        const { members, counts } = randomGroup(seed, { mixed });
        const settled = owning(members, assign("sticky", members, counts));
        expect(assign("sticky", settled, counts)).toEqual(Object.fromEntries(settled.map((m) => [m.memberId, m.current])));
      }
    }
  });

  it("when a member joins a balanced group of N, moves exactly floor(P / (N + 1)) partitions, all to the newcomer", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { members, counts } = randomGroup(seed, { mixed: false });
      const total = Object.values(counts).reduce((s, n) => s + n, 0);
      const topics = Object.keys(counts);
      const group = [...owning(members, assign("sticky", members, counts)), member("newcomer", topics)];
      const out = assign("sticky", group, counts);
      const movedNow = moved(group, out);
      expect(movedNow).toHaveLength(Math.floor(total / group.length));
      expect(movedNow).toEqual(out.newcomer);
    }
  });

  it("when a member leaves a balanced group, moves only the partitions it owned", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { members, counts } = randomGroup(seed, { mixed: false });
      if (members.length < 2) continue;
      const settled = owning(members, assign("sticky", members, counts));
      const leaver = settled[int(prng(seed), 0, settled.length - 1)];
      const out = assign(
        "sticky",
        settled.filter((m) => m !== leaver),
        counts,
      );
      const orphans = new Set(leaver.current.map(key));
      for (const m of settled) {
        if (m === leaver) continue;
        expect(m.current.every((tp) => out[m.memberId].some((o) => key(o) === key(tp)))).toBe(true);
        for (const tp of out[m.memberId]) if (!m.current.some((c) => key(c) === key(tp))) expect(orphans.has(key(tp))).toBe(true);
      }
    }
  });

  it("with identical subscriptions and any current, moves no more partitions than any balanced assignment must", () => {
    for (let seed = 1; seed <= 500; seed++) {
      const random = prng(seed);
      const counts = Object.fromEntries(Array.from({ length: int(random, 1, 4) }, (_, i) => [`t${i}`, int(random, 0, 12)]));
      const topics = Object.keys(counts);
      const ids = Array.from({ length: int(random, 1, 8) }, (_, i) => `m${i}`);
      // Deal each partition to a random member (or nobody), skewed so some members own far too many.
      const current = new Map(ids.map((id) => [id, [] as TopicPartition[]]));
      for (const topic of topics)
        for (let partition = 0; partition < counts[topic]; partition++) {
          if (random() < 0.8) current.get(ids[Math.floor(random() ** 2 * ids.length)])!.push({ topic, partition });
        }
      const members = ids.map((id) => member(id, topics, current.get(id)));
      const total = topics.reduce((s, t) => s + counts[t], 0);
      const quota = Math.floor(total / ids.length);
      const extra = total % ids.length;
      const owned = ids.map((id) => current.get(id)!.length);
      const mostKept = owned.reduce((s, c) => s + Math.min(c, quota), 0) + Math.min(extra, owned.filter((c) => c > quota).length);
      expect(moved(members, assign("sticky", members, counts)), `seed ${seed}`).toHaveLength(total - mostKept);
    }
  });

  it("lets a static member that rejoins under a new memberId keep the partitions its current carries", () => {
    const counts = { t: 6 };
    const before = [member("s-1", ["t"], [], "store-7"), member("b", ["t"]), member("c", ["t"])];
    const first = assign("sticky", before, counts);
    const rejoined = [member("s-2", ["t"], first["s-1"], "store-7"), member("b", ["t"], first.b), member("c", ["t"], first.c)];
    const out = assign("sticky", rejoined, counts);
    expect(out["s-2"]).toEqual(first["s-1"]);
    expect(out.b).toEqual(first.b);
  });

  it("gives a partition two members both claim to the one that sorts first, and drops current entries that are no longer valid", () => {
    const members = [
      member("b", ["t0"], tps("t0p0 t0p1")),
      member("a", ["t0"], tps("t0p0 t0p3 t1p0 t0p9")), // t1 unsubscribed, t0p9 does not exist
    ];
    expect(assign("sticky", members, { t0: 4, t1: 1 })).toEqual({ a: tps("t0p0 t0p3"), b: tps("t0p1 t0p2") });
  });

  it("when a topic grows, keeps every member's partitions and spreads the new ones", () => {
    const members = [member("a", ["t"], tps("tp0 tp1")), member("b", ["t"], tps("tp2 tp3"))];
    expect(assign("sticky", members, { t: 8 })).toEqual({ a: tps("tp0 tp1 tp4 tp6"), b: tps("tp2 tp3 tp5 tp7") });
  });

  it("reproduces the examples of Kafka's StickyAssignor documentation, before and after a member leaves", () => {
    const four = ["t0", "t1", "t2", "t3"];
    const counts = { t0: 2, t1: 2, t2: 2, t3: 2 };
    const first = assign(
      "sticky",
      ["C0", "C1", "C2"].map((id) => member(id, four)),
      counts,
    );
    expect(first).toEqual({ C0: tps("t0p0 t1p1 t3p0"), C1: tps("t0p1 t2p0 t3p1"), C2: tps("t1p0 t2p1") });
    expect(assign("sticky", [member("C0", four, first.C0), member("C2", four, first.C2)], counts)).toEqual({
      C0: tps("t0p0 t1p1 t2p0 t3p0"),
      C2: tps("t0p1 t1p0 t2p1 t3p1"),
    });

    const mixedCounts = { t0: 1, t1: 2, t2: 3 };
    const mixed = assign("sticky", [member("C0", ["t0"]), member("C1", ["t0", "t1"]), member("C2", ["t0", "t1", "t2"])], mixedCounts);
    expect(mixed).toEqual({ C0: tps("t0p0"), C1: tps("t1p0 t1p1"), C2: tps("t2p0 t2p1 t2p2") });
    expect(assign("sticky", [member("C1", ["t0", "t1"], mixed.C1), member("C2", ["t0", "t1", "t2"], mixed.C2)], mixedCounts)).toEqual({
      C1: tps("t0p0 t1p0 t1p1"),
      C2: tps("t2p0 t2p1 t2p2"),
    });
  });
});

describe("names and bad input", () => {
  it("recognizes exactly range, roundrobin and sticky", () => {
    expect(ASSIGNORS.every(isAssignorName)).toBe(true);
    for (const other of ["cooperative-sticky", "Range", "", null, 3, undefined]) expect(isAssignorName(other)).toBe(false);
  });

  it("refuses an unknown assignor name with UNSUPPORTED_ASSIGNOR", () => {
    const error = (() => {
      try {
        assign("cooperative-sticky" as AssignorName, [member("a", ["t"])], { t: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(EdgelogError);
    expect((error as EdgelogError).code).toBe("UNSUPPORTED_ASSIGNOR");
  });

  it("refuses a repeated memberId and a partition count that is not a non-negative integer with INVALID_REQUEST", () => {
    for (const [members, counts] of [
      [[member("a", ["t"]), member("a", ["t"])], { t: 1 }],
      [[member("a", ["t"])], { t: -1 }],
      [[member("a", ["t"])], { t: 1.5 }],
    ] as const) {
      expect(() => assign("range", [...members], counts)).toThrow(expect.objectContaining({ code: "INVALID_REQUEST" }));
    }
  });
});
