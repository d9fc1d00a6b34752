/**
 * A consumer group's coordinator: membership, assignment and committed offsets, over SQLite.
 *
 * Assignment is computed by the group itself (server-side, as Kafka's KIP-848): every change of
 * membership, subscription or partition count bumps the generation and computes a new *target*
 * assignment. A member *owns* partitions; it gives up a partition leaving its target in two
 * steps, so a partition is never owned by two members at once:
 *   1. its next heartbeat answer no longer lists the partition (the member stops reading it and
 *      commits what it processed — it still owns it, so that commit is accepted);
 *   2. its heartbeat after that (or its leaving, or its expiry) releases it, and only then does the
 *      partition's new owner receive it.
 * A member alone in its group owns everything from its first answer: there is nobody to wait for.
 * While anything is moving, answers ask for quick heartbeats so the handover takes milliseconds.
 *
 * Committed offsets follow Kafka: the offset is the next one to read. A commit must carry the
 * current generation (else ILLEGAL_GENERATION) and name only partitions the member owns (else
 * REBALANCE_IN_PROGRESS); a refused commit changes nothing.
 */
import { EdgelogError } from "../../protocol/errors";
import { tpKey } from "../../protocol/wire";
import { assign, type AssignorName, type TopicPartition } from "./assignors";

export const DEFAULT_SESSION_TIMEOUT_MS = 45_000;
export const MIN_SESSION_TIMEOUT_MS = 1_000;
export const MAX_SESSION_TIMEOUT_MS = 1_800_000;
/** Heartbeat interval of a settled member, and of one whose partitions are moving. */
export const HEARTBEAT_INTERVAL_MS = 3_000;
export const RECONCILING_HEARTBEAT_MS = 100;

export interface Member {
  memberId: string;
  instanceId: string | null;
  topics: string[];
  sessionTimeoutMs: number;
  expiresAt: number;
  /** What the member holds now (including partitions it was told to give up but has not released). */
  owned: TopicPartition[];
  /** What the assignor wants it to have in this generation. */
  target: TopicPartition[];
  /** True once an answer told the member to give up partitions; its next heartbeat releases them. */
  revocationTold: boolean;
}

/** What a member is told on join and heartbeat. */
export interface MemberAnswer {
  memberId: string;
  generation: number;
  /** The partitions to read now (never one another member may read in this generation). */
  assignment: TopicPartition[];
  /** Partitions the assignor gives it that are still being released by others. */
  pending: TopicPartition[];
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
  /** Which administrative reset this offset belongs to (0 = never reset); clients caching offsets compare it. */
  resetId: number;
}

export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

type MemberRow = {
  member_id: string;
  instance_id: string | null;
  topics: string;
  session_timeout_ms: number;
  expires_at: number;
  owned: string;
  target: string;
  revocation_told: number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
  member_id TEXT PRIMARY KEY,
  instance_id TEXT UNIQUE,
  topics TEXT NOT NULL,
  session_timeout_ms INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  owned TEXT NOT NULL,
  target TEXT NOT NULL,
  revocation_told INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fenced (member_id TEXT PRIMARY KEY, fenced_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  metadata TEXT,
  reset_id INTEGER NOT NULL,
  committed_at INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
);
`;

const byTopicPartition = (a: TopicPartition, b: TopicPartition) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;

export class Coordinator {
  #sql: SqlStorage;
  #storage: DurableObjectStorage;
  members = new Map<string, Member>();
  generation = 0;
  assignor: AssignorName | null = null;
  /** Partition counts of the subscribed topics, as last learnt from the controller. */
  partitionCounts: Record<string, number> = {};
  resetId = 0;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#sql.exec(SCHEMA);
    const meta = new Map(
      this.#sql
        .exec<{ key: string; value: string }>("SELECT key, value FROM meta")
        .toArray()
        .map((r) => [r.key, r.value]),
    );
    this.generation = Number(meta.get("generation") ?? 0);
    this.assignor = (meta.get("assignor") as AssignorName | undefined) ?? null;
    this.partitionCounts = JSON.parse(meta.get("partition_counts") ?? "{}");
    this.resetId = Number(meta.get("reset_id") ?? 0);
    for (const row of this.#sql.exec<MemberRow>("SELECT * FROM members").toArray()) {
      this.members.set(row.member_id, {
        memberId: row.member_id,
        instanceId: row.instance_id,
        topics: JSON.parse(row.topics),
        sessionTimeoutMs: row.session_timeout_ms,
        expiresAt: row.expires_at,
        owned: JSON.parse(row.owned),
        target: JSON.parse(row.target),
        revocationTold: row.revocation_told === 1,
      });
    }
  }

  /** True when the group has never been used (no members, offsets or generation). */
  get pristine(): boolean {
    return this.generation === 0 && this.members.size === 0 && this.#sql.exec("SELECT 1 FROM offsets LIMIT 1").toArray().length === 0;
  }

  /** The topics any member subscribes to. */
  subscribedTopics(): string[] {
    return [...new Set([...this.members.values()].flatMap((m) => m.topics))].sort();
  }

  /**
   * Adds a member (or, with an instanceId already present, replaces that static member and keeps
   * its partitions). `counts` are the current partition counts of its topics.
   */
  join(
    input: { topics: string[]; instanceId: string | null; sessionTimeoutMs: number; assignor: AssignorName | null },
    counts: Record<string, number>,
    now: number,
  ): MemberAnswer {
    if (input.assignor !== null && this.assignor !== null && this.members.size > 0 && input.assignor !== this.assignor) {
      throw new EdgelogError(
        "INCONSISTENT_GROUP_PROTOCOL",
        `the group uses the ${this.assignor} assignor, this member asked for ${input.assignor}`,
      );
    }
    const memberId = crypto.randomUUID();
    const previous = input.instanceId === null ? undefined : [...this.members.values()].find((m) => m.instanceId === input.instanceId);
    const member: Member = {
      memberId,
      instanceId: input.instanceId,
      topics: [...new Set(input.topics)].sort(),
      sessionTimeoutMs: input.sessionTimeoutMs,
      expiresAt: now + input.sessionTimeoutMs,
      owned: previous ? previous.owned : [],
      target: previous ? previous.target : [],
      revocationTold: false,
    };
    this.#storage.transactionSync(() => {
      if (this.members.size === 0) this.#setAssignor(input.assignor ?? this.assignor ?? "sticky");
      if (previous) {
        this.members.delete(previous.memberId);
        this.#sql.exec("DELETE FROM members WHERE member_id = ?", previous.memberId);
        this.#sql.exec("INSERT OR REPLACE INTO fenced (member_id, fenced_at) VALUES (?, ?)", previous.memberId, now);
      }
      this.members.set(memberId, member);
      const grown = this.#learnCounts(counts);
      const changed = !previous || previous.topics.join() !== member.topics.join() || grown;
      if (changed) this.#rebalance();
      else this.#saveMember(member);
    });
    return this.#answer(member);
  }

  /** Keeps a member alive; releases what it was told to give up; answers its assignment. */
  heartbeat(memberId: string, now: number): MemberAnswer {
    const member = this.member(memberId);
    member.expiresAt = now + member.sessionTimeoutMs;
    this.#storage.transactionSync(() => {
      if (member.revocationTold) {
        const keep = new Set(member.target.map(tpKey));
        member.owned = member.owned.filter((tp) => keep.has(tpKey(tp)));
        member.revocationTold = false;
      }
      this.#saveMember(member);
    });
    return this.#answer(member);
  }

  /** Removes a member; its partitions go to the others at once. */
  leave(memberId: string): void {
    this.member(memberId);
    this.#storage.transactionSync(() => {
      this.members.delete(memberId);
      this.#sql.exec("DELETE FROM members WHERE member_id = ?", memberId);
      this.#rebalance();
    });
  }

  /** Removes members whose session timed out; answers how many. */
  expire(now: number): number {
    const expired = [...this.members.values()].filter((m) => m.expiresAt <= now);
    if (expired.length === 0) return 0;
    this.#storage.transactionSync(() => {
      for (const m of expired) {
        this.members.delete(m.memberId);
        this.#sql.exec("DELETE FROM members WHERE member_id = ?", m.memberId);
      }
      this.#rebalance();
    });
    return expired.length;
  }

  /** Forgets replaced static members fenced before `before` (their ids answer UNKNOWN_MEMBER_ID then). */
  pruneFenced(before: number): void {
    this.#sql.exec("DELETE FROM fenced WHERE fenced_at < ?", before);
  }

  /** When the next member expires, or null without members. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const m of this.members.values()) if (next === null || m.expiresAt < next) next = m.expiresAt;
    return next;
  }

  /** New partition counts (topics grown, created or deleted): rebalances when they changed. */
  updateCounts(counts: Record<string, number>): boolean {
    const next: Record<string, number> = {};
    for (const topic of this.subscribedTopics()) if (counts[topic] !== undefined) next[topic] = counts[topic];
    // Compared whatever order the topics were learnt in: an unchanged count must not bump the generation.
    if (sameCounts(next, this.partitionCounts)) return false;
    this.#storage.transactionSync(() => {
      this.partitionCounts = next;
      this.#putMeta("partition_counts", JSON.stringify(next));
      this.#rebalance();
    });
    return true;
  }

  /** The member, or UNKNOWN_MEMBER_ID (FENCED_INSTANCE_ID when a static member replaced it). */
  member(memberId: string): Member {
    const member = this.members.get(memberId);
    if (member) return member;
    if (this.#sql.exec("SELECT 1 FROM fenced WHERE member_id = ?", memberId).toArray().length > 0) {
      throw new EdgelogError("FENCED_INSTANCE_ID", `member ${memberId} was replaced by a newer member with the same instance id`);
    }
    throw new EdgelogError("UNKNOWN_MEMBER_ID", `member ${memberId} is not in the group (it left or expired): join again`);
  }

  /** Stores offsets from a member of the current generation that owns every named partition. */
  commit(memberId: string, generation: number, offsets: OffsetCommit[], now: number): void {
    const member = this.member(memberId);
    if (generation !== this.generation) {
      throw new EdgelogError("ILLEGAL_GENERATION", `generation ${generation} is stale: the group is at generation ${this.generation}`);
    }
    const owned = new Set(member.owned.map(tpKey));
    for (const o of offsets) {
      if (!owned.has(tpKey(o))) {
        throw new EdgelogError(
          "REBALANCE_IN_PROGRESS",
          `${o.topic}/${o.partition} is not assigned to member ${memberId} in generation ${generation}`,
        );
      }
    }
    this.#writeOffsets(offsets, now);
  }

  /**
   * Writes offsets a transaction committed (Kafka's TxnOffsetCommit, made visible by the
   * transaction's commit): the producer that sent them owns them, so no member or generation is
   * checked.
   */
  commitTransactional(offsets: OffsetCommit[], now: number): void {
    this.#storage.transactionSync(() => this.#writeOffsets(offsets, now));
  }

  /** Sets offsets administratively (a reset); only an empty group's. Bumps the reset id. */
  reset(offsets: OffsetCommit[], now: number): number {
    this.ensureEmpty("offsets can only be reset while it is empty");
    this.#storage.transactionSync(() => {
      this.resetId++;
      this.#putMeta("reset_id", String(this.resetId));
      this.#writeOffsets(offsets, now);
    });
    return this.resetId;
  }

  /** Throws NON_EMPTY_GROUP while the group has members. */
  ensureEmpty(why: string): void {
    if (this.members.size > 0) throw new EdgelogError("NON_EMPTY_GROUP", `the group has ${this.members.size} member(s): ${why}`);
  }

  offsets(): CommittedOffset[] {
    return this.#sql
      .exec<{ topic: string; partition: number; offset: number; metadata: string | null; reset_id: number }>(
        "SELECT topic, partition, offset, metadata, reset_id FROM offsets ORDER BY topic, partition",
      )
      .toArray()
      .map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset, metadata: r.metadata, resetId: r.reset_id }));
  }

  /** "Empty" (no members), "Reconciling" (partitions still moving) or "Stable". */
  state(): "Empty" | "Reconciling" | "Stable" {
    if (this.members.size === 0) return "Empty";
    for (const m of this.members.values()) if (!sameSet(m.owned, m.target)) return "Reconciling";
    return "Stable";
  }

  #writeOffsets(offsets: OffsetCommit[], now: number): void {
    this.#storage.transactionSync(() => {
      for (const o of offsets) {
        this.#sql.exec(
          "INSERT OR REPLACE INTO offsets (topic, partition, offset, metadata, reset_id, committed_at) VALUES (?, ?, ?, ?, ?, ?)",
          o.topic,
          o.partition,
          o.offset,
          o.metadata ?? null,
          this.resetId,
          now,
        );
      }
    });
  }

  /** A member's answer: what it owns and may read, after taking whatever others released. */
  #answer(member: Member): MemberAnswer {
    const takenByOthers = new Set<string>();
    for (const m of this.members.values()) if (m !== member) for (const tp of m.owned) takenByOthers.add(tpKey(tp));
    const owned = new Set(member.owned.map(tpKey));
    let acquired = false;
    for (const tp of member.target) {
      if (!owned.has(tpKey(tp)) && !takenByOthers.has(tpKey(tp))) {
        member.owned.push(tp);
        owned.add(tpKey(tp));
        acquired = true;
      }
    }
    const target = new Set(member.target.map(tpKey));
    const assignment = member.owned.filter((tp) => target.has(tpKey(tp))).sort(byTopicPartition);
    const pending = member.target.filter((tp) => !owned.has(tpKey(tp)));
    const revoking = member.owned.length > assignment.length;
    if (revoking) member.revocationTold = true;
    if (acquired || revoking) {
      member.owned.sort(byTopicPartition);
      this.#saveMember(member);
    }
    const moving = pending.length > 0 || revoking;
    return {
      memberId: member.memberId,
      generation: this.generation,
      assignment,
      pending,
      heartbeatIntervalMs: moving ? RECONCILING_HEARTBEAT_MS : Math.min(HEARTBEAT_INTERVAL_MS, Math.floor(member.sessionTimeoutMs / 3)),
      sessionTimeoutMs: member.sessionTimeoutMs,
    };
  }

  /** New generation, new targets. Partitions of members that left are free at once. */
  #rebalance(): void {
    this.generation++;
    this.#putMeta("generation", String(this.generation));
    const topics = new Set(this.subscribedTopics());
    for (const topic of Object.keys(this.partitionCounts)) {
      if (!topics.has(topic)) delete this.partitionCounts[topic];
    }
    this.#putMeta("partition_counts", JSON.stringify(this.partitionCounts));
    const members = [...this.members.values()];
    const targets = assign(
      this.assignor ?? "sticky",
      members.map((m) => ({ memberId: m.memberId, instanceId: m.instanceId, topics: m.topics, current: m.owned })),
      this.partitionCounts,
    );
    for (const m of members) {
      const previousTarget = new Set(m.target.map(tpKey));
      m.target = targets[m.memberId] ?? [];
      // Partitions that no longer exist (topic deleted, unsubscribed) are released at once.
      m.owned = m.owned.filter((tp) => m.topics.includes(tp.topic) && tp.partition < (this.partitionCounts[tp.topic] ?? 0));
      // The member's last answer listed owned ∩ previous target. If the new target drops any of
      // those, no answer has told it to stop reading them yet: its next heartbeat must not release
      // them (that heartbeat's answer is the telling), so the revocation starts over.
      const nextTarget = new Set(m.target.map(tpKey));
      if (m.owned.some((tp) => previousTarget.has(tpKey(tp)) && !nextTarget.has(tpKey(tp)))) m.revocationTold = false;
      if (sameSet(m.owned, m.target)) m.revocationTold = false;
      this.#saveMember(m);
    }
  }

  /**
   * Merges the counts of a joining member's topics; true when a known topic grew. A join's counts
   * come from the worker's metadata cache, which may predate a growth the group already learnt
   * from the controller; partitions are never removed, so a smaller count is stale and ignored
   * (the controller refresh in updateCounts is what follows a topic deleted and recreated).
   */
  #learnCounts(counts: Record<string, number>): boolean {
    let changed = false;
    for (const [topic, count] of Object.entries(counts)) {
      const known = this.partitionCounts[topic];
      if (known !== undefined && count <= known) continue;
      if (known !== undefined) changed = true;
      this.partitionCounts[topic] = count;
    }
    this.#putMeta("partition_counts", JSON.stringify(this.partitionCounts));
    return changed;
  }

  #setAssignor(assignor: AssignorName): void {
    this.assignor = assignor;
    this.#putMeta("assignor", assignor);
  }

  #saveMember(m: Member): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO members (member_id, instance_id, topics, session_timeout_ms, expires_at, owned, target, revocation_told) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      m.memberId,
      m.instanceId,
      JSON.stringify(m.topics),
      m.sessionTimeoutMs,
      m.expiresAt,
      JSON.stringify(m.owned),
      JSON.stringify(m.target),
      m.revocationTold ? 1 : 0,
    );
  }

  #putMeta(k: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", k, value);
  }
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((topic) => b[topic] === a[topic]);
}

function sameSet(a: TopicPartition[], b: TopicPartition[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map(tpKey));
  return b.every((tp) => s.has(tpKey(tp)));
}
