/**
 * The consumer group Durable Object: one per group, named by the group id.
 *
 * A thin shell around Coordinator: it keeps the alarm at the next member expiry, refreshes the
 * subscribed topics' partition counts from the controller (so partitions added to a topic reach
 * the assignment), and registers the group with the controller for listing. Every RPC answers an
 * Outcome so refusals keep their error codes.
 */
import { DurableObject } from "cloudflare:workers";
import { tpKey } from "../../protocol/wire";
import type { Env } from "../env";
import { attempt, attemptAsync, type Outcome } from "../outcome";
import type { AssignorName } from "./assignors";
import { Coordinator, type CommittedOffset, type Member, type MemberAnswer, type OffsetCommit } from "./coordinator";

/** How long partition counts are trusted before a heartbeat asks the controller again. */
const COUNTS_TTL_MS = 5_000;
/** How long a replaced static member's id answers FENCED_INSTANCE_ID. */
const FENCED_TTL_MS = 24 * 3600_000;

export interface JoinInput {
  group: string;
  topics: string[];
  instanceId: string | null;
  sessionTimeoutMs: number;
  assignor: AssignorName | null;
  /** Partition counts of `topics`, as the worker just read them. */
  counts: Record<string, number>;
}

export interface GroupDescription {
  generation: number;
  state: "Empty" | "Reconciling" | "Stable";
  assignor: AssignorName | null;
  members: (Pick<Member, "memberId" | "instanceId" | "topics" | "sessionTimeoutMs"> & {
    assignment: Member["owned"];
    target: Member["target"];
  })[];
  partitionCounts: Record<string, number>;
  offsets: CommittedOffset[];
}

export class Group extends DurableObject<Env> {
  #coordinator: Coordinator;
  #alarmAt: number | null = null;
  #countsAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#coordinator = new Coordinator(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  async join(input: JoinInput): Promise<Outcome<MemberAnswer>> {
    return attemptAsync(async () => {
      await this.#register(input.group);
      const now = Date.now();
      const answer = this.#coordinator.join(input, input.counts, now);
      this.#countsAt = now;
      await this.#arm();
      return answer;
    });
  }

  async heartbeat(memberId: string): Promise<Outcome<MemberAnswer>> {
    return attemptAsync(async () => {
      this.#coordinator.member(memberId);
      await this.#refreshCounts();
      const answer = this.#coordinator.heartbeat(memberId, Date.now());
      await this.#arm();
      return answer;
    });
  }

  async leave(memberId: string): Promise<Outcome<null>> {
    return attemptAsync(async () => {
      this.#coordinator.leave(memberId);
      await this.#arm();
      return null;
    });
  }

  commit(memberId: string, generation: number, offsets: OffsetCommit[]): Outcome<null> {
    return attempt(() => {
      this.#coordinator.commit(memberId, generation, offsets, Date.now());
      return null;
    });
  }

  /** Offsets a transaction committed (see the transaction coordinator); the group is registered like any used one. */
  async commitTransactional(group: string, offsets: OffsetCommit[]): Promise<Outcome<null>> {
    return attemptAsync(async () => {
      await this.#register(group);
      this.#coordinator.commitTransactional(offsets, Date.now());
      return null;
    });
  }

  /** Sets the offsets of an empty group (an administrator's reset); answers the new reset id. */
  async reset(group: string, offsets: OffsetCommit[]): Promise<Outcome<{ resetId: number }>> {
    return attemptAsync(async () => {
      // Registered first: once the reset has written offsets the group is no longer pristine, and
      // #register skips groups that are not (a group used only through resets would go unlisted).
      await this.#register(group);
      const resetId = this.#coordinator.reset(offsets, Date.now());
      return { resetId };
    });
  }

  offsets(): CommittedOffset[] {
    return this.#coordinator.offsets();
  }

  describe(): GroupDescription {
    const c = this.#coordinator;
    const target = (m: Member) => new Set(m.target.map(tpKey));
    return {
      generation: c.generation,
      state: c.state(),
      assignor: c.assignor,
      members: [...c.members.values()]
        .sort((a, b) => (a.memberId < b.memberId ? -1 : 1))
        .map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          topics: m.topics,
          sessionTimeoutMs: m.sessionTimeoutMs,
          assignment: m.owned.filter((tp) => target(m).has(tpKey(tp))),
          target: m.target,
        })),
      partitionCounts: c.partitionCounts,
      offsets: c.offsets(),
    };
  }

  /** Deletes an empty group: its offsets, its storage, its listing. */
  async deleteGroup(group: string): Promise<Outcome<null>> {
    return attemptAsync(async () => {
      this.#coordinator.ensureEmpty("only an empty group can be deleted");
      await this.ctx.storage.deleteAlarm();
      await this.ctx.storage.deleteAll();
      this.#coordinator = new Coordinator(this.ctx.storage);
      this.#alarmAt = null;
      await this.env.CONTROLLER.get(this.env.CONTROLLER.idFromName("cluster")).unregisterGroup(group);
      return null;
    });
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    this.#coordinator.expire(now);
    this.#coordinator.pruneFenced(now - FENCED_TTL_MS);
    await this.#arm();
  }

  async #register(group: string): Promise<void> {
    if (!this.#coordinator.pristine) return;
    await this.env.CONTROLLER.get(this.env.CONTROLLER.idFromName("cluster")).registerGroup(group);
  }

  /** Asks the controller for the subscribed topics' partition counts when they are old. */
  async #refreshCounts(): Promise<void> {
    const now = Date.now();
    if (now - this.#countsAt < COUNTS_TTL_MS) return;
    this.#countsAt = now;
    const controller = this.env.CONTROLLER.get(this.env.CONTROLLER.idFromName("cluster"));
    const counts: Record<string, number> = {};
    await Promise.all(
      this.#coordinator.subscribedTopics().map(async (topic) => {
        const outcome = await controller.topic(topic);
        if (outcome.ok) counts[topic] = outcome.value.partitions.length;
      }),
    );
    this.#coordinator.updateCounts(counts);
  }

  /** Keeps the alarm at the next member expiry. */
  async #arm(): Promise<void> {
    const next = this.#coordinator.nextExpiry();
    if (next === null || (this.#alarmAt !== null && this.#alarmAt <= next)) return;
    this.#alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }
}
