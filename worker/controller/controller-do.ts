/**
 * The controller Durable Object: one per cluster (named "cluster"), ZooKeeper's part in the seed.
 *
 * It owns topic metadata and producer ids (in Registry) and tells partition objects when they are
 * created, reconfigured or deleted. A topic (or a partition added to one) becomes visible only
 * after its objects were told, while its name is taken from the start; a deleted topic vanishes
 * before its objects are wiped, and wiping is retried by the alarm until it succeeds. So a
 * half-finished step is never visible as a working topic. Config changes carry a version, so a
 * partition ignores one that arrives after a newer one.
 */
import { DurableObject } from "cloudflare:workers";
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";
import { attempt, attemptAsync, unwrap, type Outcome } from "../outcome";
import type { PartitionAssignment } from "../partition/types";
import { Elections } from "./election";
import { regionsOf, replicaStub } from "./placement";
import { Registry, type PartitionMetadata, type TopicMetadata } from "./registry";

const DELETE_RETRY_MS = 5_000;

export class Controller extends DurableObject<Env> {
  #registry: Registry;
  #elections: Elections;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#registry = new Registry(ctx.storage.sql);
    this.#elections = new Elections(env, this.#registry);
  }

  /** `input` is the create-topic body (protocol/api/topics.ts), checked again here. */
  async createTopic(input: unknown): Promise<Outcome<TopicMetadata>> {
    return attemptAsync(async () => {
      const topic = this.#registry.create(input, regionsOf(this.env).length, Date.now());
      try {
        await this.#assign(topic, 0);
      } catch (err) {
        // Objects that could not be told leave the topic unusable: take it back whole.
        this.#registry.discard(topic);
        await this.#wipePending();
        throw err instanceof EdgelogError
          ? err
          : new EdgelogError("REQUEST_TIMED_OUT", `creating topic "${topic.name}" failed: ${String(err)}`);
      }
      this.#registry.ready(topic.topicId);
      return this.#registry.get(topic.name);
    });
  }

  topic(name: string): Outcome<TopicMetadata> {
    return attempt(() => this.#registry.get(name));
  }

  listTopics(): TopicMetadata[] {
    return this.#registry.list();
  }

  async deleteTopic(name: string): Promise<Outcome<TopicMetadata>> {
    return attemptAsync(async () => {
      const topic = this.#registry.remove(name);
      await this.#wipePending();
      return topic;
    });
  }

  async createPartitions(name: string, count: unknown): Promise<Outcome<TopicMetadata>> {
    return attemptAsync(async () => {
      const { topic, from } = this.#registry.growPartitions(name, count, regionsOf(this.env).length);
      await this.#assign(topic, from);
      this.#registry.ready(topic.topicId, topic.partitions.length);
      return this.#registry.get(name);
    });
  }

  async alterConfig(name: string, changes: unknown): Promise<Outcome<TopicMetadata>> {
    return attemptAsync(async () => {
      const topic = this.#registry.alterConfig(name, changes);
      // Every replica is told; one that cannot be reached now (it is down) learns the config from
      // its leader's next handshake, or from the controller when it is elected.
      // A partition none of whose replicas could be told is an error (retriable: the change is recorded).
      await Promise.all(
        topic.partitions.map(async (p) => {
          const told = await Promise.allSettled(
            p.replicas.map(async (replica) =>
              unwrap(await replicaStub(this.env, topic.topicId, p.partition, replica).configure(topic.config, topic.configVersion)),
            ),
          );
          const refused = told.find((r): r is PromiseRejectedResult => r.status === "rejected" && r.reason instanceof EdgelogError);
          if (refused) throw refused.reason;
          if (told.every((r) => r.status === "rejected")) {
            throw new EdgelogError(
              "REQUEST_TIMED_OUT",
              `no replica of partition ${p.partition} could be told of the new config; it is recorded: retry to apply it`,
            );
          }
        }),
      );
      return topic;
    });
  }

  /** A partition's current leadership (replicas that missed an election ask for it). */
  partitionState(topicId: string, partition: number): Outcome<PartitionMetadata> {
    return attempt(() => {
      const { topic: _topic, ...p } = this.#registry.partition(topicId, partition);
      return p;
    });
  }

  /** From a partition's leader: change its in-sync set (see Registry.alterIsr). */
  alterIsr(topicId: string, partition: number, leader: number, leaderEpoch: number, isr: number[]): Outcome<{ isr: number[] }> {
    return attempt(() => this.#registry.alterIsr(topicId, partition, leader, leaderEpoch, isr));
  }

  /** From a worker that could not reach a partition's leader: see election.ts. */
  async leaderUnreachable(topicId: string, partition: number, leaderEpoch: number): Promise<Outcome<PartitionMetadata>> {
    return attemptAsync(() => this.#elections.leaderUnreachable(topicId, partition, leaderEpoch));
  }

  initProducerId(transactionalId?: string): Outcome<{ producerId: number; producerEpoch: number }> {
    return attempt(() => this.#registry.initProducer(transactionalId));
  }

  registerGroup(name: string): void {
    this.#registry.registerGroup(name, Date.now());
  }

  unregisterGroup(name: string): void {
    this.#registry.unregisterGroup(name);
  }

  listGroups(): string[] {
    return this.#registry.groups();
  }

  override async alarm(): Promise<void> {
    await this.#wipePending();
  }

  /** Tells the objects of partitions [from, end) which topic they serve. */
  async #assign(topic: TopicMetadata, from: number): Promise<void> {
    await Promise.all(
      topic.partitions.slice(from).flatMap((p) =>
        p.replicas.map(async (replica) => {
          const assignment: PartitionAssignment = {
            topicId: topic.topicId,
            topic: topic.name,
            partition: p.partition,
            replica,
            replicas: p.replicas,
            leader: p.leader,
            isr: p.isr,
            leaderEpoch: p.leaderEpoch,
            config: topic.config,
            configVersion: topic.configVersion,
          };
          unwrap(await replicaStub(this.env, topic.topicId, p.partition, replica).assign(assignment));
        }),
      ),
    );
  }

  /** Wipes the objects of deleted topics; what fails is retried by the alarm. */
  async #wipePending(): Promise<void> {
    let failed = false;
    for (const pending of this.#registry.pendingDeletes()) {
      const results = await Promise.allSettled(
        pending.partitions.flatMap((p) =>
          p.replicas.map((replica) => replicaStub(this.env, pending.topicId, p.partition, replica).destroy()),
        ),
      );
      if (results.every((r) => r.status === "fulfilled")) this.#registry.deleted(pending.topicId);
      else failed = true;
    }
    if (failed) await this.ctx.storage.setAlarm(Date.now() + DELETE_RETRY_MS);
  }
}
