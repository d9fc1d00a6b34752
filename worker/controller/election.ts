/**
 * Failure detection and leader election, the controller's part of failover.
 *
 * A worker that cannot reach a partition's leader (after retrying once) reports it here. Durable
 * Objects show failures as resets and overloads that usually heal in place, so one report is
 * only a suspicion: the controller probes the leader itself, PROBES times over about a tenth of a
 * second, and elects only if every probe fails. Then (as Kafka's controller does):
 *   - candidates are the in-sync replicas other than the leader, each probed as the leader was;
 *     the reachable one with the longest log wins (ties go to the earlier replica in the
 *     placement order). The in-sync set is read again after the probes: the leader may have
 *     changed it meanwhile (an overloaded leader can still reach the controller);
 *   - with none reachable, an unclean election (any reachable replica, possibly losing
 *     acknowledged writes) happens only if the topic enables unclean.leader.election.enable;
 *     otherwise the partition keeps its leader and waits for it (LEADER_NOT_AVAILABLE meanwhile);
 *   - the new epoch is recorded first, then the new leader is told, then the others (best
 *     effort: the new leader's handshake reaches them anyway, and a replica that sees a newer
 *     epoch than it knows asks the controller).
 * Reports are handled one at a time per partition, and a report about an epoch that is no longer
 * current is answered with the current state: many workers reporting one failure cause one election.
 */
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";
import type { Outcome } from "../outcome";
import type { LogStatus } from "../partition/types";
import { replicaStub } from "./placement";
import type { PartitionMetadata, Registry } from "./registry";

const PROBES = 3;
const PROBE_SPACING_MS = 40;
/** A probe slower than this counts as failed (a slow fault, an overloaded object). */
const PROBE_TIMEOUT_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The candidate with the longest log among those that answered (ties: the earlier one), or null. */
function longest(candidates: number[], statuses: Map<number, LogStatus>): number | null {
  let best: number | null = null;
  let bestEnd = -1;
  for (const r of candidates) {
    const s = statuses.get(r);
    if (s && s.logEndOffset > bestEnd) {
      best = r;
      bestEnd = s.logEndOffset;
    }
  }
  return best;
}

/** Calls a replica's status with a timeout; null when it did not answer. */
async function probe(env: Env, topicId: string, partition: number, replica: number): Promise<LogStatus | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer: Outcome<LogStatus> | null = await Promise.race([
      replicaStub(env, topicId, partition, replica).status() as Promise<Outcome<LogStatus>>,
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PROBE_TIMEOUT_MS))),
    ]);
    return answer?.ok ? answer.value : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

export class Elections {
  #env: Env;
  #registry: Registry;
  #running = new Map<string, Promise<unknown>>();

  constructor(env: Env, registry: Registry) {
    this.#env = env;
    this.#registry = registry;
  }

  /** Handles a report that the leader of `leaderEpoch` did not answer; answers the partition's state after it. */
  async leaderUnreachable(topicId: string, partition: number, leaderEpoch: number): Promise<PartitionMetadata> {
    const key = `${topicId}/${partition}`;
    while (this.#running.has(key)) await this.#running.get(key);
    const run = this.#check(topicId, partition, leaderEpoch);
    this.#running.set(
      key,
      run.catch(() => undefined),
    );
    try {
      return await run;
    } finally {
      this.#running.delete(key);
    }
  }

  async #check(topicId: string, partition: number, leaderEpoch: number): Promise<PartitionMetadata> {
    const { topic, ...current } = this.#registry.partition(topicId, partition);
    if (current.leaderEpoch !== leaderEpoch || current.replicas.length === 1) return current;
    for (let i = 0; i < PROBES; i++) {
      if (i > 0) await sleep(PROBE_SPACING_MS);
      const status = await probe(this.#env, topicId, partition, current.leader);
      // It answered: a transient error, no election. (A leader that answers but no longer leads
      // at this epoch was told of a newer one: the controller's state below is the truth.)
      if (status) return current;
    }
    const others = current.replicas.filter((r) => r !== current.leader);
    const statuses = await this.#statuses(topicId, partition, others);
    // The probes awaited: the leader may have changed the in-sync set meanwhile (it may be
    // overloaded for callers yet still reach the controller). Decide on the set as it is now.
    const { topic: _t, ...now } = this.#registry.partition(topicId, partition);
    if (now.leaderEpoch !== current.leaderEpoch) return now;
    const inSync = others.filter((r) => now.isr.includes(r));
    let winner = longest(inSync, statuses);
    if (winner === null && topic.config["unclean.leader.election.enable"]) winner = longest(others, statuses);
    if (winner === null) {
      throw new EdgelogError(
        "LEADER_NOT_AVAILABLE",
        `partition ${partition}'s leader (replica ${now.leader}) is unreachable and no in-sync replica can take over`,
      );
    }
    // The failed leader leaves the in-sync set; an unclean winner is the set's only member.
    const isr = now.isr.includes(winner) ? now.isr.filter((r) => r !== now.leader) : [winner];
    const elected = this.#registry.elect(topicId, partition, winner, isr);
    console.warn(
      `edgelog: partition ${partition} of topic ${topic.name}: replica ${winner} leads epoch ${elected.leaderEpoch} (replica ${current.leader} unreachable)`,
    );
    await this.announce(topicId, elected);
    return elected;
  }

  /** Each candidate's status, probed up to PROBES times (one transient error must not pass over the longest log). */
  async #statuses(topicId: string, partition: number, candidates: number[]): Promise<Map<number, LogStatus>> {
    const found = new Map<number, LogStatus>();
    await Promise.all(
      candidates.map(async (r) => {
        for (let i = 0; i < PROBES; i++) {
          if (i > 0) await sleep(PROBE_SPACING_MS);
          const status = await probe(this.#env, topicId, partition, r);
          if (status) return void found.set(r, status);
        }
      }),
    );
    return found;
  }

  /** Tells the new leader, then the other replicas, of a leadership (best effort for the others). */
  async announce(topicId: string, p: PartitionMetadata): Promise<void> {
    const change = { leader: p.leader, leaderEpoch: p.leaderEpoch, isr: p.isr };
    const { topic } = this.#registry.partition(topicId, p.partition);
    const config = { config: topic.config, configVersion: topic.configVersion };
    const tell = (r: number) => replicaStub(this.#env, topicId, p.partition, r).lead(change, config);
    await tell(p.leader).catch((err) => console.warn(`edgelog: telling replica ${p.leader} it leads failed: ${String(err)}`));
    await Promise.allSettled(p.replicas.filter((r) => r !== p.leader).map(tell));
  }
}
