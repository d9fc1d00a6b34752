/**
 * Consumer-group partition assignors: which member of a group reads which partition.
 *
 * Plain functions of (members, partition counts), with no runtime, storage or clock, so the group
 * coordinator can call them anywhere and tests run them in Node. The three strategies carry the
 * names Kafka clients use; range and roundrobin split partitions exactly as Kafka's do:
 * - "range": per topic, contiguous runs of partitions; the first members get one extra.
 * - "roundrobin": every partition in (topic, partition) order, dealt in turn to the members.
 * - "sticky": as balanced as any valid assignment can be, moving as few partitions as it can from
 *   what members own now (`current`).
 *
 * Members are ordered by (instanceId ?? memberId), so a static member that rejoins under a new
 * memberId sorts where it did before and gets the same range/roundrobin share.
 */
import { EdgelogError } from "../../protocol/errors";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface AssignorMember {
  memberId: string;
  /** Static membership id (Kafka's group.instance.id); members are ordered by (instanceId ?? memberId) so a returning static member sorts the same. */
  instanceId: string | null;
  /** Topics this member subscribes to. Members of one group may subscribe to different topics. */
  topics: string[];
  /** What the member owns now (used by "sticky" to move as little as possible; ignored by range/roundrobin). */
  current: TopicPartition[];
}

/** The assignors a group may name, as Kafka clients spell them. */
export const ASSIGNORS = ["range", "roundrobin", "sticky"] as const;
export type AssignorName = (typeof ASSIGNORS)[number];

/**
 * True when `name` is one of {@link ASSIGNORS}; use it to check what a client sent.
 *
 * @example
 * isAssignorName("sticky"); // true
 * isAssignorName("cooperative-sticky"); // false
 */
export function isAssignorName(name: unknown): name is AssignorName {
  return typeof name === "string" && (ASSIGNORS as readonly string[]).includes(name);
}

/**
 * Computes the target assignment: every partition of every topic someone subscribes to goes to exactly one member subscribed to its topic. Deterministic for the same input. Returns an entry (possibly empty) for every member, partitions sorted by topic then partition.
 *
 * Subscribed topics missing from `partitionCounts` (unknown or deleted) contribute no partitions.
 * Throws UNSUPPORTED_ASSIGNOR for an unknown name, INVALID_REQUEST for a repeated memberId or a
 * partition count that is not a non-negative integer.
 *
 * "sticky" guarantees, for any subscriptions: (1) balance as good as any valid assignment's: no
 * valid assignment has a smaller largest load or a larger smallest load (with identical
 * subscriptions, every member gets floor or ceil of partitions/members); (2) each member keeps
 * every valid partition of its `current` unless balance needs it elsewhere, and a current that is
 * already valid and balanced comes back unchanged. With identical subscriptions the number of
 * moved partitions is the least any balanced assignment needs; with mixed subscriptions it is kept
 * low (each move is part of a shortest chain of hand-offs that improves balance) but not proven least.
 *
 * @example
 * assign("range", [
 *   { memberId: "c0", instanceId: null, topics: ["t0"], current: [] },
 *   { memberId: "c1", instanceId: null, topics: ["t0"], current: [] },
 * ], { t0: 3 });
 * // { c0: [{ topic: "t0", partition: 0 }, { topic: "t0", partition: 1 }], c1: [{ topic: "t0", partition: 2 }] }
 */
export function assign(
  assignor: AssignorName,
  members: AssignorMember[],
  partitionCounts: Record<string, number>,
): Record<string, TopicPartition[]> {
  if (!isAssignorName(assignor)) {
    throw new EdgelogError("UNSUPPORTED_ASSIGNOR", `unknown assignor ${JSON.stringify(assignor)}; use ${ASSIGNORS.join(", ")}`);
  }
  const group = prepare(members, partitionCounts);
  const lists = STRATEGIES[assignor](group);
  // fromEntries, not obj[id] = ..., so a memberId like "__proto__" stays an ordinary key.
  return Object.fromEntries(group.members.map((m, i) => [m.memberId, lists[i].sort(byTopicPartition)]));
}

/** The input, normalized: members in their canonical order, and only topics that have partitions to give. */
interface Group {
  members: AssignorMember[];
  subscribes: Set<string>[];
  /** Subscribed topics that exist, in sorted order, with their partition counts. */
  topics: string[];
  counts: Map<string, number>;
  /** Per topic, the indices (into `members`) of its subscribers, ascending. */
  subscribers: Map<string, number[]>;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byTopicPartition = (a: TopicPartition, b: TopicPartition): number => compare(a.topic, b.topic) || a.partition - b.partition;

function prepare(input: AssignorMember[], partitionCounts: Record<string, number>): Group {
  const seen = new Set<string>();
  for (const m of input) {
    if (seen.has(m.memberId)) throw new EdgelogError("INVALID_REQUEST", `member ${JSON.stringify(m.memberId)} appears twice`);
    seen.add(m.memberId);
  }
  // memberId breaks ties so two members sharing an instanceId still sort the same every time.
  const members = [...input].sort(
    (a, b) => compare(a.instanceId ?? a.memberId, b.instanceId ?? b.memberId) || compare(a.memberId, b.memberId),
  );
  const subscribes = members.map((m) => new Set(m.topics));
  const counts = new Map<string, number>();
  for (const topic of new Set(members.flatMap((m) => m.topics))) {
    if (!Object.hasOwn(partitionCounts, topic)) continue;
    const n = partitionCounts[topic];
    if (!Number.isSafeInteger(n) || n < 0)
      throw new EdgelogError("INVALID_REQUEST", `topic ${JSON.stringify(topic)} has an invalid partition count: ${n}`);
    counts.set(topic, n);
  }
  const topics = [...counts.keys()].sort(compare);
  const subscribers = new Map(topics.map((t) => [t, members.flatMap((_, i) => (subscribes[i].has(t) ? [i] : []))]));
  return { members, subscribes, topics, counts, subscribers };
}

const STRATEGIES: Record<AssignorName, (group: Group) => TopicPartition[][]> = { range, roundrobin, sticky };

function range({ members, topics, counts, subscribers }: Group): TopicPartition[][] {
  const lists: TopicPartition[][] = members.map(() => []);
  for (const topic of topics) {
    const subs = subscribers.get(topic)!;
    const n = counts.get(topic)!;
    const per = Math.floor(n / subs.length);
    const extra = n % subs.length;
    subs.forEach((m, i) => {
      const start = i * per + Math.min(i, extra);
      const end = start + per + (i < extra ? 1 : 0);
      for (let partition = start; partition < end; partition++) lists[m].push({ topic, partition });
    });
  }
  return lists;
}

function roundrobin({ members, subscribes, topics, counts }: Group): TopicPartition[][] {
  const lists: TopicPartition[][] = members.map(() => []);
  let next = 0;
  for (const topic of topics) {
    for (let partition = 0; partition < counts.get(topic)!; partition++) {
      // The turn passes over members not subscribed to this topic; every listed topic has a subscriber, so this ends.
      while (!subscribes[next].has(topic)) next = (next + 1) % members.length;
      lists[next].push({ topic, partition });
      next = (next + 1) % members.length;
    }
  }
  return lists;
}

/**
 * Keep, fill, then balance. Keeping every valid current partition first and moving one only to
 * fix balance is what makes moves few; balancing by shortest improving chains (an assignment with
 * none left is an optimal "semi-matching", Harvey et al. 2003) is what makes mixed subscriptions
 * as balanced as they can be, where a single direct move from the busiest member may be impossible.
 */
function sticky(group: Group): TopicPartition[][] {
  const { members, subscribes, topics, counts, subscribers } = group;
  const owner = new Map(topics.map((t) => [t, new Array<number>(counts.get(t)!).fill(-1)]));
  const owned = members.map(() => new Map(topics.map((t) => [t, new Set<number>()])));
  const load = members.map(() => 0);
  const move = (topic: string, partition: number, to: number): void => {
    const from = owner.get(topic)![partition];
    if (from >= 0) {
      owned[from].get(topic)!.delete(partition);
      load[from]--;
    }
    owner.get(topic)![partition] = to;
    owned[to].get(topic)!.add(partition);
    load[to]++;
  };

  // Keep: in member order, so a partition two members both claim goes to the one sorted first.
  members.forEach((m, i) => {
    for (const { topic, partition } of m.current) {
      const row = owner.get(topic);
      if (row && subscribes[i].has(topic) && row[partition] === -1) move(topic, partition, i);
    }
  });
  const kept = new Map([...owner].map(([t, row]) => [t, [...row]]));

  // Fill: topics with the fewest subscribers first, since they have the fewest places to go.
  const byChoice = [...topics].sort((a, b) => subscribers.get(a)!.length - subscribers.get(b)!.length || compare(a, b));
  for (const topic of byChoice) {
    owner.get(topic)!.forEach((from, partition) => {
      if (from !== -1) return;
      const least = subscribers.get(topic)!.reduce((best, i) => (load[i] < load[best] ? i : best));
      move(topic, partition, least);
    });
  }

  // Balance: until no member can shed one partition to one with two fewer through a chain of hand-offs.
  let improved = true;
  while (improved) improved = improve(group, owned, load, handOff);
  return owned.map((byTopic) => [...byTopic].flatMap(([topic, set]) => [...set].map((partition) => ({ topic, partition }))));

  /** Moves one partition `from` -> `to`: preferably one `to` kept, then one `from` did not keep, then the lowest. */
  function handOff(from: number, to: number): void {
    let pick: TopicPartition | null = null;
    let pickCost = 3;
    for (const topic of topics) {
      if (!subscribes[to].has(topic)) continue;
      for (const partition of owned[from].get(topic)!) {
        const keptBy = kept.get(topic)![partition];
        const cost = keptBy === to ? 0 : keptBy !== from ? 1 : 2;
        if (cost < pickCost || (cost === pickCost && pick !== null && pick.topic === topic && partition < pick.partition)) {
          pick = { topic, partition };
          pickCost = cost;
        }
      }
    }
    move(pick!.topic, pick!.partition, to);
  }
}

/**
 * Finds one shortest chain m0 -> m1 -> ... -> mk where each member owns a partition the next one
 * subscribes to and load(mk) <= load(m0) - 2, and shifts one partition along every link. Returns
 * false when there is none. Sources are tried busiest first; a search that fails settles every
 * member it reached (all have load >= load(source) - 1, as has all they reach), so later, less
 * busy sources skip them and one pass costs one walk over the group.
 */
function improve(group: Group, owned: Map<string, Set<number>>[], load: number[], handOff: (from: number, to: number) => void): boolean {
  const n = load.length;
  const sources = load.map((_, i) => i).sort((a, b) => load[b] - load[a] || a - b);
  const settled = new Array<boolean>(n).fill(false);
  for (const source of sources) {
    if (settled[source]) continue;
    const parent = new Array<number>(n).fill(-1);
    parent[source] = source;
    const reached = [source];
    let frontier = [source];
    let target = -1;
    while (frontier.length > 0 && target === -1) {
      const next: number[] = [];
      for (const u of frontier) {
        for (const topic of group.topics) {
          if (owned[u].get(topic)!.size === 0) continue;
          for (const v of group.subscribers.get(topic)!) {
            if (parent[v] !== -1 || settled[v]) continue;
            parent[v] = u;
            next.push(v);
            reached.push(v);
            if (load[v] <= load[source] - 2 && (target === -1 || load[v] < load[target] || (load[v] === load[target] && v < target)))
              target = v;
          }
        }
      }
      frontier = next;
    }
    if (target === -1) {
      for (const r of reached) settled[r] = true;
      continue;
    }
    // Last link first, so each member gives away a partition it held before the chain began.
    for (let to = target; to !== source; to = parent[to]) handOff(parent[to], to);
    return true;
  }
  return false;
}
