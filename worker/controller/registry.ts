/**
 * The controller's records: topics, their partitions' placement and leadership, and producer ids.
 *
 * Synchronous over the controller's SQLite, so each change is one atomic step; the controller
 * object does the awaiting (telling partition objects) around it.
 */
import { toBase64Url } from "../../protocol/base64";
import { EdgelogError } from "../../protocol/errors";
import { addMissingColumns } from "../storage/migrate";
import { placeReplicas } from "./placement";
import { mergeTopicConfig, resolveTopicConfig, type TopicConfig } from "./topic-config";
import { MAX_PARTITIONS } from "../../protocol/api/names";
import { parse } from "../../protocol/api/schema";
import { createTopic } from "../../protocol/api/topics";

/** The most partitions one topic may have (each is an object; keep creation bounded). */
export { MAX_PARTITIONS };

export interface PartitionMetadata {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  leaderEpoch: number;
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  replicationFactor: number;
  partitions: PartitionMetadata[];
  config: TopicConfig;
  /** Bumped by every config change, so a partition can ignore a change that arrives late. */
  configVersion: number;
  createdAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  name TEXT PRIMARY KEY,
  topic_id TEXT NOT NULL UNIQUE,
  replication_factor INTEGER NOT NULL,
  config TEXT NOT NULL,
  config_version INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  ready INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id TEXT NOT NULL,
  partition INTEGER NOT NULL,
  leader INTEGER NOT NULL,
  replicas TEXT NOT NULL,
  isr TEXT NOT NULL,
  leader_epoch INTEGER NOT NULL,
  ready INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (topic_id, partition)
);
CREATE TABLE IF NOT EXISTS pending_deletes (
  topic_id TEXT PRIMARY KEY,
  partitions TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS producer_ids (
  transactional_id TEXT PRIMARY KEY,
  producer_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS groups (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
`;

type TopicRow = { name: string; topic_id: string; replication_factor: number; config: string; config_version: number; created_at: number };
type PartitionRow = { partition: number; leader: number; replicas: string; isr: string; leader_epoch: number };

/** Producer epochs are int16 in the batch header. */
const MAX_PRODUCER_EPOCH = 0x7fff;

export class Registry {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
    // Topics made before these columns existed were complete and visible: ready by default.
    addMissingColumns(sql, "topics", { config_version: "INTEGER NOT NULL DEFAULT 0", ready: "INTEGER NOT NULL DEFAULT 1" });
    addMissingColumns(sql, "partitions", { ready: "INTEGER NOT NULL DEFAULT 1" });
  }

  /**
   * Validates and records a new topic with every replica in sync at leader epoch 0. The topic is
   * not visible (find, list, produce) until {@link ready} — after its objects were told — but its
   * name is taken at once.
   */
  create(input: unknown, regionCount: number, now: number): TopicMetadata {
    // The route's own schema: the RPC boundary checks what the route checked, from one source.
    const {
      name,
      partitions,
      replicationFactor,
      config: changes,
    } = parse(createTopic.request.body.content["application/json"].schema, input);
    if (replicationFactor > regionCount) {
      throw new EdgelogError(
        "INVALID_REPLICATION_FACTOR",
        `replication factor ${replicationFactor} is larger than the ${regionCount} regions available`,
      );
    }
    const config = mergeTopicConfig(changes ?? {});
    if (this.#sql.exec("SELECT 1 FROM topics WHERE name = ?", name).toArray().length > 0) {
      throw new EdgelogError("TOPIC_ALREADY_EXISTS", `topic "${name}" already exists`);
    }
    const topicId = newTopicId();
    this.#sql.exec(
      "INSERT INTO topics (name, topic_id, replication_factor, config, created_at) VALUES (?, ?, ?, ?, ?)",
      name,
      topicId,
      replicationFactor,
      JSON.stringify(config),
      now,
    );
    this.#addPartitions(topicId, 0, partitions, replicationFactor, regionCount);
    return this.#metadata(this.#sql.exec<TopicRow>("SELECT * FROM topics WHERE topic_id = ?", topicId).one(), true);
  }

  /** Makes a topic, and its partitions below `below`, visible: their objects have been told. */
  ready(topicId: string, below = MAX_PARTITIONS): void {
    this.#sql.exec("UPDATE topics SET ready = 1 WHERE topic_id = ?", topicId);
    this.#sql.exec("UPDATE partitions SET ready = 1 WHERE topic_id = ? AND partition < ?", topicId, below);
  }

  /** Drops a topic that could not be created, and queues its objects for wiping. */
  discard(topic: TopicMetadata): void {
    this.#sql.exec("DELETE FROM topics WHERE topic_id = ?", topic.topicId);
    this.#forget(topic);
  }

  /** The topic, or UNKNOWN_TOPIC_OR_PARTITION. */
  get(name: string): TopicMetadata {
    const topic = this.find(name);
    if (!topic) throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${name}" does not exist`);
    return topic;
  }

  find(name: string): TopicMetadata | null {
    const row = this.#sql.exec<TopicRow>("SELECT * FROM topics WHERE name = ? AND ready = 1", name).toArray()[0];
    return row ? this.#metadata(row) : null;
  }

  list(): TopicMetadata[] {
    return this.#sql
      .exec<TopicRow>("SELECT * FROM topics WHERE ready = 1 ORDER BY name")
      .toArray()
      .map((row) => this.#metadata(row));
  }

  /** Removes the topic's records and remembers its objects until they are wiped. */
  remove(name: string): TopicMetadata {
    const topic = this.get(name);
    const all = this.#metadata(this.#sql.exec<TopicRow>("SELECT * FROM topics WHERE topic_id = ?", topic.topicId).one(), true);
    this.#sql.exec("DELETE FROM topics WHERE topic_id = ?", topic.topicId);
    this.#forget(all);
    return topic;
  }

  /** Deletes a topic's partition rows and queues every one of its objects for wiping. */
  #forget(topic: TopicMetadata): void {
    this.#sql.exec("DELETE FROM partitions WHERE topic_id = ?", topic.topicId);
    this.#sql.exec(
      "INSERT OR REPLACE INTO pending_deletes (topic_id, partitions) VALUES (?, ?)",
      topic.topicId,
      JSON.stringify(topic.partitions.map((p) => ({ partition: p.partition, replicas: p.replicas }))),
    );
  }

  /** Topics whose objects still wait to be wiped. */
  pendingDeletes(): { topicId: string; partitions: { partition: number; replicas: number[] }[] }[] {
    return this.#sql
      .exec<{ topic_id: string; partitions: string }>("SELECT topic_id, partitions FROM pending_deletes")
      .toArray()
      .map((r) => ({ topicId: r.topic_id, partitions: JSON.parse(r.partitions) }));
  }

  deleted(topicId: string): void {
    this.#sql.exec("DELETE FROM pending_deletes WHERE topic_id = ?", topicId);
  }

  /**
   * Grows the topic to `count` partitions (Kafka's CreatePartitions: a new total, never fewer).
   * Partitions not yet made ready stay invisible until {@link ready}. Rows another grow (in flight,
   * or failed half-way) already placed are reused, never re-placed: answers the topic with every
   * placed partition and the range [from, count) the caller must tell and then make ready.
   */
  growPartitions(name: string, count: unknown, regionCount: number): { topic: TopicMetadata; from: number } {
    const topic = this.get(name);
    const current = topic.partitions.length;
    if (!Number.isSafeInteger(count) || (count as number) <= current || (count as number) > MAX_PARTITIONS) {
      throw new EdgelogError(
        "INVALID_PARTITIONS",
        `count must be the new total, an integer above the current ${current} and at most ${MAX_PARTITIONS}, got ${JSON.stringify(count)}`,
      );
    }
    const placed = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM partitions WHERE topic_id = ?", topic.topicId).one().n;
    if ((count as number) > placed) this.#addPartitions(topic.topicId, placed, count as number, topic.replicationFactor, regionCount);
    const all = this.#metadata(this.#sql.exec<TopicRow>("SELECT * FROM topics WHERE topic_id = ?", topic.topicId).one(), true);
    return { topic: { ...all, partitions: all.partitions.slice(0, count as number) }, from: current };
  }

  /** Merges validated config changes into the topic's config. */
  alterConfig(name: string, changes: unknown): TopicMetadata {
    const topic = this.get(name);
    const config = resolveTopicConfig(changes, topic.config);
    this.#sql.exec(
      "UPDATE topics SET config = ?, config_version = config_version + 1 WHERE topic_id = ?",
      JSON.stringify(config),
      topic.topicId,
    );
    return this.get(name);
  }

  /** A partition's leadership by topic id, or UNKNOWN_TOPIC_OR_PARTITION (deleted, or never made). */
  partition(topicId: string, partition: number): PartitionMetadata & { topic: TopicMetadata } {
    const row = this.#sql.exec<TopicRow>("SELECT * FROM topics WHERE topic_id = ?", topicId).toArray()[0];
    const topic = row ? this.#metadata(row, true) : undefined;
    const p = topic?.partitions.find((q) => q.partition === partition);
    if (!topic || !p) throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `no partition ${partition} of topic id ${topicId}`);
    return { ...p, topic };
  }

  /**
   * A leader's request to change its partition's in-sync set (Kafka's AlterPartition): refused
   * with FENCED_LEADER_EPOCH unless it comes from the current leader at the current epoch, so a
   * replaced leader cannot shrink the set to itself and go on alone.
   */
  alterIsr(topicId: string, partition: number, leader: number, leaderEpoch: number, isr: unknown): { isr: number[] } {
    const p = this.partition(topicId, partition);
    if (leaderEpoch !== p.leaderEpoch || leader !== p.leader) {
      throw new EdgelogError(
        "FENCED_LEADER_EPOCH",
        `replica ${leader} at epoch ${leaderEpoch} is not the leader of partition ${partition} (replica ${p.leader}, epoch ${p.leaderEpoch})`,
      );
    }
    if (!Array.isArray(isr) || !isr.every((r) => p.replicas.includes(r)) || !isr.includes(leader) || new Set(isr).size !== isr.length) {
      throw new EdgelogError(
        "INVALID_REQUEST",
        `in-sync set ${JSON.stringify(isr)} must be distinct replicas of ${JSON.stringify(p.replicas)} including the leader`,
      );
    }
    this.#sql.exec("UPDATE partitions SET isr = ? WHERE topic_id = ? AND partition = ?", JSON.stringify(isr), topicId, partition);
    return { isr: isr as number[] };
  }

  /** Records an election: the new leader and in-sync set at the next epoch. */
  elect(topicId: string, partition: number, leader: number, isr: number[]): PartitionMetadata {
    const p = this.partition(topicId, partition);
    this.#sql.exec(
      "UPDATE partitions SET leader = ?, isr = ?, leader_epoch = ? WHERE topic_id = ? AND partition = ?",
      leader,
      JSON.stringify(isr),
      p.leaderEpoch + 1,
      topicId,
      partition,
    );
    const { topic: _topic, ...elected } = this.partition(topicId, partition);
    return elected;
  }

  /**
   * Issues a producer id and epoch (Kafka's InitProducerId). Without a transactional id every
   * call is a new producer at epoch 0; with one, the same id comes back with its epoch bumped,
   * which fences every older instance of that producer.
   */
  initProducer(transactionalId: string | undefined): { producerId: number; producerEpoch: number } {
    if (transactionalId === undefined) return { producerId: this.#next("producer_id"), producerEpoch: 0 };
    const row = this.#sql
      .exec<{ producer_id: number; epoch: number }>(
        "SELECT producer_id, epoch FROM producer_ids WHERE transactional_id = ?",
        transactionalId,
      )
      .toArray()[0];
    // An exhausted epoch starts over under a new producer id, as Kafka does.
    const next =
      row && row.epoch < MAX_PRODUCER_EPOCH
        ? { producerId: row.producer_id, producerEpoch: row.epoch + 1 }
        : { producerId: this.#next("producer_id"), producerEpoch: 0 };
    this.#sql.exec(
      "INSERT OR REPLACE INTO producer_ids (transactional_id, producer_id, epoch) VALUES (?, ?, ?)",
      transactionalId,
      next.producerId,
      next.producerEpoch,
    );
    return next;
  }

  /** Remembers a consumer group (for listing); groups register themselves when first used. */
  registerGroup(name: string, now: number): void {
    this.#sql.exec("INSERT OR IGNORE INTO groups (name, created_at) VALUES (?, ?)", name, now);
  }

  unregisterGroup(name: string): void {
    this.#sql.exec("DELETE FROM groups WHERE name = ?", name);
  }

  groups(): string[] {
    return this.#sql
      .exec<{ name: string }>("SELECT name FROM groups ORDER BY name")
      .toArray()
      .map((r) => r.name);
  }

  #next(counter: string): number {
    return this.#sql
      .exec<{ value: number }>(
        "INSERT INTO counters (name, value) VALUES (?, 0) ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        counter,
      )
      .one().value;
  }

  #addPartitions(topicId: string, from: number, to: number, replicationFactor: number, regionCount: number): void {
    for (let partition = from; partition < to; partition++) {
      const replicas = placeReplicas(partition, replicationFactor, regionCount);
      this.#sql.exec(
        "INSERT INTO partitions (topic_id, partition, leader, replicas, isr, leader_epoch) VALUES (?, ?, ?, ?, ?, 0)",
        topicId,
        partition,
        replicas[0],
        JSON.stringify(replicas),
        JSON.stringify(replicas),
      );
    }
  }

  /** A topic's metadata: its visible partitions, or all of them with `unready`. */
  #metadata(row: TopicRow, unready = false): TopicMetadata {
    const partitions = this.#sql
      .exec<PartitionRow>(
        `SELECT partition, leader, replicas, isr, leader_epoch FROM partitions WHERE topic_id = ? ${unready ? "" : "AND ready = 1"} ORDER BY partition`,
        row.topic_id,
      )
      .toArray()
      .map((p) => ({
        partition: p.partition,
        leader: p.leader,
        replicas: JSON.parse(p.replicas),
        isr: JSON.parse(p.isr),
        leaderEpoch: p.leader_epoch,
      }));
    return {
      name: row.name,
      topicId: row.topic_id,
      replicationFactor: row.replication_factor,
      partitions,
      config: JSON.parse(row.config),
      configVersion: row.config_version,
      createdAt: row.created_at,
    };
  }
}

/** A random 128-bit id in URL-safe base64, as Kafka's topic ids are printed. */
function newTopicId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}
