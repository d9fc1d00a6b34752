/**
 * The session's side of the group protocol: it heartbeats on the member's behalf and follows the
 * answers, keeping coordinator.ts's two-step handover whole across a socket.
 *
 * A heartbeat releases whatever the previous answer took away, so the session may heartbeat only
 * once the client has let go of it:
 *   1. an answer drops partition P: the session stops sending P at once and tells the client
 *      ("revoked" in the assignment frame), then stops heartbeating;
 *   2. the client commits what it processed of P (it still owns P, so the commit is accepted) and
 *      sends "released"; only then does the session heartbeat, which releases P, and only after
 *      that can P's new owner receive it.
 * P is never sent to this member after the answer that dropped it, and the new owner gets it only
 * after the release: no partition is read by two members at once. A client that never releases
 * is let go of at a deadline (half its session timeout after it was told), as Kafka's rebalance
 * timeout does, rather than letting the member expire and lose every partition.
 */
import { EdgelogError } from "../../protocol/errors";
import { tpKey } from "../../protocol/wire";
import type { TopicPartition } from "../group/assignors";
import type { MemberAnswer } from "../group/coordinator";
import type { SessionMeta, SessionStore, StoredPartition } from "./store";

export interface Change {
  /** Taken away by this answer: stop sending them. */
  revoked: TopicPartition[];
  /** The assignment frame must be sent (new generation, or partitions came or went). */
  changed: boolean;
}

export class Membership {
  #store: SessionStore;
  meta: SessionMeta;
  #partitions = new Map<string, StoredPartition>();

  constructor(store: SessionStore) {
    this.#store = store;
    this.meta = store.meta();
    for (const p of store.partitions()) this.#partitions.set(tpKey(p), p);
  }

  /** The partitions the member may read now, in topic and partition order. */
  get assigned(): StoredPartition[] {
    return [...this.#partitions.values()].filter((p) => !p.revoked);
  }

  /** Partitions the client was told to give up and has not released. */
  get revoked(): TopicPartition[] {
    return [...this.#partitions.values()].filter((p) => p.revoked).map(({ topic, partition }) => ({ topic, partition }));
  }

  isAssigned(tp: TopicPartition): boolean {
    const p = this.#partitions.get(tpKey(tp));
    return p !== undefined && !p.revoked;
  }

  /** When a heartbeat may release the revoked partitions without the client's release. */
  get releaseDeadline(): number | null {
    return this.meta.revokedAt === null ? null : this.meta.revokedAt + Math.floor(this.meta.sessionTimeoutMs / 2);
  }

  /** Whether a heartbeat now would keep the handover whole. */
  mayHeartbeat(now: number): boolean {
    const deadline = this.releaseDeadline;
    return deadline === null || now >= deadline;
  }

  /** Applies a heartbeat answer (the heartbeat released whatever was revoked before). */
  follow(answer: MemberAnswer, now: number): Change {
    const next = new Set(answer.assignment.map(tpKey));
    const revoked = this.assigned.filter((p) => !next.has(tpKey(p))).map(({ topic, partition }) => ({ topic, partition }));
    const added = answer.assignment.filter((tp) => !this.isAssigned(tp));
    const changed = revoked.length > 0 || added.length > 0 || answer.generation !== this.meta.generation;
    const partitions = new Map<string, StoredPartition>();
    for (const tp of answer.assignment)
      partitions.set(tpKey(tp), {
        topic: tp.topic,
        partition: tp.partition,
        revoked: false,
        position: this.#partitions.get(tpKey(tp))?.position ?? null,
      });
    for (const tp of revoked) partitions.set(tpKey(tp), { ...tp, revoked: true, position: null });
    this.#partitions = partitions;
    this.#store.setPartitions([...partitions.values()]);
    this.setMeta({
      generation: answer.generation,
      heartbeatIntervalMs: answer.heartbeatIntervalMs,
      sessionTimeoutMs: answer.sessionTimeoutMs,
      revokedAt: revoked.length > 0 ? now : null,
    });
    return { revoked, changed };
  }

  /** The client's release of generation `generation`'s revocation: true when a heartbeat may go now. */
  released(generation: number): boolean {
    if (generation !== this.meta.generation) {
      throw new EdgelogError(
        "ILLEGAL_GENERATION",
        `generation ${generation} is not the session's: it is at generation ${this.meta.generation}`,
      );
    }
    if (this.meta.revokedAt === null) return false; // nothing waits (released already, or at the deadline)
    this.#forget();
    return true;
  }

  /** At the deadline: the revoked partitions go without the client's release. */
  releaseWithoutClient(): void {
    this.#forget();
  }

  setPosition(tp: TopicPartition, position: number | null): void {
    const p = this.#partitions.get(tpKey(tp));
    if (!p) return;
    p.position = position;
    this.#store.setPosition(tp, position);
  }

  /** A new socket: the client states every position again. */
  clearPositions(): void {
    for (const p of this.#partitions.values()) p.position = null;
    this.#store.clearPositions();
  }

  #forget(): void {
    for (const [k, p] of this.#partitions) if (p.revoked) this.#partitions.delete(k);
    this.#store.setPartitions([...this.#partitions.values()]);
    this.setMeta({ revokedAt: null });
  }

  setMeta(changes: Partial<SessionMeta>): void {
    Object.assign(this.meta, changes);
    this.#store.setMeta(changes);
  }
}
