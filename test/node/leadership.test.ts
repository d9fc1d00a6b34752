/**
 * The replica's leadership state machine (worker/partition/leadership.ts) and how a follower's
 * log joins the leader's (leader-epochs.ts reconcile), without workerd: examples for each rule,
 * then seeded random histories of epoch events checked against the invariants.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_TOPIC_CONFIG } from "../../worker/controller/topic-config";
import { reconcile } from "../../worker/partition/leader-epochs";
import {
  admitProduce,
  admitReplicated,
  adopt,
  checkEpoch,
  isActiveLeader,
  leaderOf,
  stepDown,
  type Effect,
  type LeadershipState,
  type Transition,
} from "../../worker/partition/leadership";
import type { PartitionAssignment } from "../../worker/partition/types";
import { prng } from "../protocol/support";

const REPLICAS = [0, 1, 2];

function replica(self: number, leader: number, leaderEpoch: number, fenced = false): LeadershipState {
  const assignment: PartitionAssignment = {
    topicId: "t-1",
    topic: "t",
    partition: 0,
    replica: self,
    replicas: REPLICAS,
    leader,
    isr: REPLICAS,
    leaderEpoch,
    config: DEFAULT_TOPIC_CONFIG,
    configVersion: 1,
  };
  return { assignment, fenced };
}

const kinds = (effects: Effect[]) => effects.map((e) => e.do);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe("fencing by leader epoch", () => {
  it("a replica never accepts an append from an epoch older than the one it follows", () => {
    const follower = replica(1, 0, 5);
    const batches = { leader: 0, leaderEpoch: 4, configVersion: 1, fromOffset: 10 };
    expect(codeOf(() => admitReplicated(follower.assignment, batches, 10))).toBe("FENCED_LEADER_EPOCH");
    expect(admitProduce(replica(0, 0, 5), 4).error?.code).toBe("FENCED_LEADER_EPOCH");
  });

  it("a replica refuses batches of an epoch it has not been told of, until the leader's handshake brings it", () => {
    const follower = replica(1, 0, 5);
    expect(codeOf(() => admitReplicated(follower.assignment, { leader: 2, leaderEpoch: 6, configVersion: 1, fromOffset: 10 }, 10))).toBe(
      "UNKNOWN_LEADER_EPOCH",
    );
    const { state } = adopt(follower, { leader: 2, leaderEpoch: 6, isr: REPLICAS });
    expect(() => admitReplicated(state.assignment, { leader: 2, leaderEpoch: 6, configVersion: 1, fromOffset: 10 }, 10)).not.toThrow();
  });

  it("a second leader claiming the current epoch is fenced", () => {
    expect(codeOf(() => adopt(replica(1, 0, 5), { leader: 2, leaderEpoch: 5, isr: REPLICAS }))).toBe("FENCED_LEADER_EPOCH");
    expect(
      codeOf(() => admitReplicated(replica(1, 0, 5).assignment, { leader: 2, leaderEpoch: 5, configVersion: 1, fromOffset: 0 }, 0)),
    ).toBe("FENCED_LEADER_EPOCH");
  });

  it("a follower takes only batches that continue its log exactly, from a config version it has", () => {
    const a = replica(1, 0, 5).assignment;
    expect(codeOf(() => admitReplicated(a, { leader: 0, leaderEpoch: 5, configVersion: 1, fromOffset: 9 }, 10))).toBe(
      "OFFSET_OUT_OF_RANGE",
    );
    expect(codeOf(() => admitReplicated(a, { leader: 0, leaderEpoch: 5, configVersion: 2, fromOffset: 10 }, 10))).toBe(
      "UNKNOWN_LEADER_EPOCH",
    );
    expect(
      codeOf(() => admitReplicated(replica(0, 0, 5).assignment, { leader: 0, leaderEpoch: 5, configVersion: 1, fromOffset: 10 }, 10)),
    ).toBe("NOT_LEADER_OR_FOLLOWER");
  });

  it("a produce on a follower is refused NOT_LEADER_OR_FOLLOWER, which promises nothing was applied", () => {
    const refusal = admitProduce(replica(1, 0, 5), 5);
    expect(refusal.error?.code).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(refusal.effects).toEqual([]);
  });

  it("a produce for an epoch newer than the replica knows is refused and makes it ask the controller", () => {
    const refusal = admitProduce(replica(0, 0, 5), 6);
    expect(refusal.error?.code).toBe("UNKNOWN_LEADER_EPOCH");
    expect(kinds(refusal.effects)).toEqual(["askController"]);
  });

  it("reads are checked by epoch only: a follower serves its own epoch (KIP-392)", () => {
    const a = replica(1, 0, 5).assignment;
    expect(() => checkEpoch(a, 5)).not.toThrow();
    expect(() => checkEpoch(a, undefined)).not.toThrow();
    expect(codeOf(() => checkEpoch(a, 4))).toBe("FENCED_LEADER_EPOCH");
    expect(codeOf(() => checkEpoch(a, 6))).toBe("UNKNOWN_LEADER_EPOCH");
  });

  it("the leader of its epoch takes produces and keeps its followers fed", () => {
    const admitted = admitProduce(replica(0, 0, 5), 5);
    expect(admitted.error).toBeNull();
    expect(kinds(admitted.effects)).toEqual(["replicate"]);
    expect(
      kinds(admitProduce({ ...replica(0, 0, 5), assignment: { ...replica(0, 0, 5).assignment, replicas: [0] } }, undefined).effects),
    ).toEqual([]);
  });
});

describe("adopting and stepping down", () => {
  it("the current leadership again changes nothing", () => {
    const s = replica(0, 0, 5);
    expect(adopt(s, { leader: 0, leaderEpoch: 5, isr: [0] })).toEqual({ state: s, effects: [] });
  });

  it("a replica elected leader records its epoch and starts replicating", () => {
    const t = adopt(replica(1, 0, 5), { leader: 1, leaderEpoch: 6, isr: [1, 2] });
    expect(kinds(t.effects)).toEqual(["record", "replicate"]);
    expect(t.effects[0]).toEqual({ do: "record", change: { leader: 1, leaderEpoch: 6, isr: [1, 2] } });
    expect(isActiveLeader(t.state)).toBe(true);
  });

  it("a leader told to follow steps down: it stops replicating, closes its push sockets (4006) and releases its waiters", () => {
    const t = adopt(replica(0, 0, 5), { leader: 2, leaderEpoch: 6, isr: [1, 2] });
    expect(kinds(t.effects)).toEqual(["record", "stopReplicating", "closeSubscribers", "releaseWaiters"]);
    expect(t.state).toMatchObject({ fenced: false, assignment: { leader: 2, leaderEpoch: 6 } });
  });

  it("a leader a follower or the controller fenced refuses produces and asks the controller who leads", () => {
    const t = stepDown(replica(0, 0, 5));
    expect(t.state.fenced).toBe(true);
    expect(kinds(t.effects)).toEqual(["stopReplicating", "closeSubscribers", "releaseWaiters", "askController"]);
    expect(admitProduce(t.state, 5).error?.code).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(admitProduce(t.state, undefined).error?.code).toBe("NOT_LEADER_OR_FOLLOWER");
  });

  it("a fenced leader is unfenced by the controller's answer, whichever replica it names", () => {
    const fenced = stepDown(replica(0, 0, 5)).state;
    const again = adopt(fenced, { leader: 0, leaderEpoch: 5, isr: [0] });
    expect(again.state.fenced).toBe(false);
    expect(kinds(again.effects)).toEqual(["record", "replicate"]);
    // Already stepped down when fenced: following now needs nothing more.
    expect(kinds(adopt(fenced, { leader: 1, leaderEpoch: 6, isr: [1] }).effects)).toEqual(["record"]);
  });
});

describe("a follower joining the leader's log (reconcile)", () => {
  const e = (...pairs: [number, number][]) => pairs.map(([epoch, startOffset]) => ({ epoch, startOffset }));

  it("a stepped-down leader's suffix the new leader never had is truncated where the new epoch starts", () => {
    const old = { epochs: e([0, 0], [1, 5]), logStartOffset: 0, logEndOffset: 9 };
    const leader = { epochs: e([0, 0], [1, 5], [2, 7]), logStartOffset: 0, logEndOffset: 12, startPosition: 0 };
    expect(reconcile(old, leader)).toEqual({ kind: "truncate", offset: 7 });
  });

  it("a follower that is a prefix of the leader keeps its whole log", () => {
    expect(
      reconcile(
        { epochs: e([0, 0]), logStartOffset: 0, logEndOffset: 4 },
        { epochs: e([0, 0]), logStartOffset: 0, logEndOffset: 9, startPosition: 0 },
      ),
    ).toEqual({ kind: "truncate", offset: 4 });
  });

  it("a follower that needs what retention deleted from the leader starts over at the leader's log start", () => {
    const leader = { epochs: e([3, 100]), logStartOffset: 100, logEndOffset: 120, startPosition: 4096 };
    expect(reconcile({ epochs: e([0, 0]), logStartOffset: 0, logEndOffset: 40 }, leader)).toEqual({
      kind: "reset",
      offset: 100,
      position: 4096,
    });
  });
});

describe("histories of epoch events (seeded)", () => {
  type Event =
    | { kind: "lead"; leader: number; leaderEpoch: number }
    | { kind: "fenced" }
    | { kind: "produce"; epoch: number | undefined }
    | { kind: "replicate"; leader: number; leaderEpoch: number };

  function randomEvent(random: () => number, top: number): Event {
    const roll = random();
    const epoch = Math.max(0, top + Math.floor(random() * 5) - 3);
    const leader = REPLICAS[Math.floor(random() * REPLICAS.length)];
    if (roll < 0.4) return { kind: "lead", leader, leaderEpoch: epoch };
    if (roll < 0.55) return { kind: "fenced" };
    if (roll < 0.8) return { kind: "produce", epoch: random() < 0.2 ? undefined : epoch };
    return { kind: "replicate", leader, leaderEpoch: epoch };
  }

  it("any sequence of epoch events leaves the replica following the highest epoch it adopted, and a stale leader always steps down", () => {
    const seen = { stepDowns: 0, produces: 0, replicated: 0, refusedStale: 0 };
    for (let seed = 1; seed <= 120; seed++) {
      const random = prng(seed);
      const self = REPLICAS[seed % REPLICAS.length];
      let s = replica(self, 0, 0);
      let highest = 0;
      /** Who led each epoch, as the replica first adopted it (one leader per epoch). */
      const leaders = new Map<number, number>([[0, 0]]);
      for (let step = 0; step < 60; step++) {
        const event = randomEvent(random, highest);
        const before = s;
        const wasLeading = isActiveLeader(before);
        const context = `seed ${seed}, step ${step}: ${JSON.stringify(event)} on ${JSON.stringify({ leader: leaderOf(before.assignment), epoch: before.assignment.leaderEpoch, fenced: before.fenced })}`;
        if (event.kind === "lead") {
          let t: Transition | null = null;
          try {
            t = adopt(s, { leader: event.leader, leaderEpoch: event.leaderEpoch, isr: REPLICAS });
          } catch (err) {
            expect((err as { code: string }).code, context).toBe("FENCED_LEADER_EPOCH");
            // Refused only when stale: an older epoch, or another leader for the current one.
            const stale =
              event.leaderEpoch < before.assignment.leaderEpoch ||
              (event.leaderEpoch === before.assignment.leaderEpoch && event.leader !== leaderOf(before.assignment));
            expect(stale, context).toBe(true);
            seen.refusedStale++;
          }
          if (t) {
            s = t.state;
            if (!leaders.has(event.leaderEpoch)) leaders.set(event.leaderEpoch, event.leader);
            highest = Math.max(highest, event.leaderEpoch);
            const effects = kinds(t.effects);
            if (wasLeading && !isActiveLeader(s)) {
              seen.stepDowns++;
              expect(effects, context).toEqual(expect.arrayContaining(["stopReplicating", "closeSubscribers", "releaseWaiters"]));
            }
            if (effects.includes("replicate")) expect(isActiveLeader(s), context).toBe(true);
          }
        } else if (event.kind === "fenced") {
          const t = stepDown(s);
          s = t.state;
          expect(isActiveLeader(s), context).toBe(false);
          expect(kinds(t.effects), context).toEqual(expect.arrayContaining(["stopReplicating", "closeSubscribers", "releaseWaiters"]));
        } else if (event.kind === "produce") {
          const admission = admitProduce(s, event.epoch);
          expect(admission.state, context).toBe(s);
          if (admission.error === null) {
            seen.produces++;
            expect(isActiveLeader(s), context).toBe(true);
            expect(event.epoch === undefined || event.epoch === s.assignment.leaderEpoch, context).toBe(true);
          } else if (event.epoch !== undefined && event.epoch < s.assignment.leaderEpoch) {
            // A fenced leader refuses everything alike until it learns who leads.
            expect(admission.error.code, context).toBe(s.fenced ? "NOT_LEADER_OR_FOLLOWER" : "FENCED_LEADER_EPOCH");
          }
        } else {
          let accepted = true;
          try {
            admitReplicated(s.assignment, { leader: event.leader, leaderEpoch: event.leaderEpoch, configVersion: 1, fromOffset: 0 }, 0);
          } catch {
            accepted = false;
          }
          if (accepted) {
            seen.replicated++;
            expect(event.leaderEpoch, context).toBe(s.assignment.leaderEpoch);
            expect(event.leader, context).toBe(leaderOf(s.assignment));
            expect(event.leader, context).not.toBe(self);
          }
          if (event.leaderEpoch < s.assignment.leaderEpoch) expect(accepted, context).toBe(false);
        }
        // The invariants after every event.
        expect(s.assignment.leaderEpoch, context).toBe(highest);
        expect(leaderOf(s.assignment), context).toBe(leaders.get(highest));
        if (s.fenced) expect(leaderOf(s.assignment), context).toBe(self);
      }
    }
    // The histories reached every kind of outcome they check.
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(10);
  });
});
