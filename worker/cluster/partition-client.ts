/**
 * How routes talk to partitions: find the leader, follow leadership as it moves, and turn
 * answers into values or EdgelogErrors.
 *
 * Every call carries the leader epoch the worker's metadata names. When a replica answers that
 * leadership moved (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH) nothing
 * was applied: the worker refreshes the topic's metadata and tries again. When the leader does
 * not answer at all, the worker retries it once (Durable Objects' resets and overloads heal),
 * then reports it to the controller, which probes it and elects a new leader if it is down
 * (see controller/election.ts). A call whose outcome may be unknown — an append that reached a
 * leader that then failed — is retried only when it is idempotent (producer ids and sequences,
 * or an idempotency key); otherwise the client gets a retriable REQUEST_TIMED_OUT.
 */
import { EdgelogError, type ErrorCode } from "../../protocol/errors";
import { decodeRecords } from "../../protocol/record-batch";
import { controller, partitionOf, rememberTopic, topicMetadata } from "./metadata";
import type { PartitionMetadata, TopicMetadata } from "../controller/registry";
import { replicaStub } from "../controller/placement";
import type { Env } from "../env";
import { LIMITS } from "../../protocol/limits";
import type { Outcome } from "../outcome";
import type { AppendRequest, AppendResult, FetchRequest, LogStatus, MarkerRequest, ReadResult } from "../partition/types";

/** Answers that mean "ask again elsewhere or later": nothing was applied. */
const MOVED: ReadonlySet<ErrorCode> = new Set([
  "NOT_LEADER_OR_FOLLOWER",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "LEADER_NOT_AVAILABLE",
]);
/** How many times a call follows moving leadership before it gives up (about two seconds). */
const ATTEMPTS = 8;
const BACKOFF_MS = [0, 20, 50, 100, 200, 300, 500, 800];

type Stub = ReturnType<typeof replicaStub>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The stub of the partition's leader replica, as the given metadata says. */
export function leaderOf(env: Env, topic: TopicMetadata, partition: number): Stub {
  const p = partitionOf(topic, partition);
  return replicaStub(env, topic.topicId, partition, p.leader);
}

/**
 * Runs `call` on the partition's leader, following leadership changes (see the file comment).
 * `idempotent`: a call that threw may be sent again (its outcome was unknown).
 */
export async function onLeader<T>(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  call: (stub: Stub, p: PartitionMetadata) => Promise<Outcome<T>>,
  idempotent = true,
): Promise<T> {
  let current = topic;
  let failure: EdgelogError | null = null;
  let unanswered = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (BACKOFF_MS[attempt] > 0 && failure) await sleep(BACKOFF_MS[attempt]);
    const p = partitionOf(current, partition);
    let outcome: Outcome<T>;
    try {
      outcome = await call(replicaStub(env, current.topicId, partition, p.leader), p);
    } catch (err) {
      unanswered++;
      failure = new EdgelogError(
        "REQUEST_TIMED_OUT",
        `partition ${partition}'s leader (replica ${p.leader}) did not answer: ${String(err).slice(0, 200)}`,
      );
      // The first time, the same leader again: most resets heal at once. After that, the controller.
      if (unanswered > 1) current = await reportUnreachable(env, current, p);
      if (!idempotent) {
        if (unanswered === 1) current = await reportUnreachable(env, current, p);
        throw new EdgelogError(
          "REQUEST_TIMED_OUT",
          `${failure.message}; the outcome is unknown: retry (producer ids or an Idempotency-Key make it safe)`,
        );
      }
      continue;
    }
    if (outcome.ok) return outcome.value;
    failure = new EdgelogError(outcome.code, outcome.message);
    if (MOVED.has(outcome.code)) {
      // Nothing was applied: ask again where leadership went.
      current = await refresh(env, current);
      continue;
    }
    // Timed out while an acks=all write waited: the outcome is unknown. If leadership moved
    // meanwhile, an idempotent call is sent to the new leader; otherwise the client decides.
    if (!idempotent || outcome.code !== "REQUEST_TIMED_OUT") throw failure;
    const fresh = await refresh(env, current);
    if (partitionOf(fresh, partition).leaderEpoch === p.leaderEpoch) throw failure;
    current = fresh;
  }
  throw failure ?? new EdgelogError("LEADER_NOT_AVAILABLE", `partition ${partition} has no reachable leader`);
}

/** Fresh metadata for the same topic (UNKNOWN_TOPIC_OR_PARTITION if it was deleted or recreated). */
async function refresh(env: Env, topic: TopicMetadata): Promise<TopicMetadata> {
  const fresh = await topicMetadata(env, topic.name, true);
  if (fresh.topicId !== topic.topicId)
    throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic.name}" was deleted (and made again)`);
  return fresh;
}

/** Tells the controller the leader did not answer; answers the metadata after its decision. */
async function reportUnreachable(env: Env, topic: TopicMetadata, p: PartitionMetadata): Promise<TopicMetadata> {
  const outcome = await controller(env).leaderUnreachable(topic.topicId, p.partition, p.leaderEpoch);
  if (!outcome.ok) {
    if (outcome.code === "LEADER_NOT_AVAILABLE") return topic;
    throw new EdgelogError(outcome.code, outcome.message);
  }
  const partitions = topic.partitions.map((q) => (q.partition === p.partition ? outcome.value : q));
  const updated = { ...topic, partitions };
  rememberTopic(updated);
  return updated;
}

export async function appendTo(env: Env, topic: TopicMetadata, partition: number, request: AppendRequest): Promise<AppendResult> {
  // Producer ids and sequences, or an idempotency key, make a resent append safe.
  const idempotent =
    request.idempotencyKey !== undefined ||
    (request.batches.length > 0 && request.batches.every((b) => b.header.producerId >= 0 && b.header.baseSequence >= 0));
  return onLeader(env, topic, partition, (stub, p) => stub.append({ ...request, leaderEpoch: p.leaderEpoch }), idempotent);
}

/** Writes a transaction marker on the partition's leader (see Partition.writeMarker); resent safely, a marker twice changes nothing. */
export async function writeMarkerTo(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  request: MarkerRequest,
): Promise<{ offset: number; highWatermark: number }> {
  return onLeader(env, topic, partition, (stub, p) => stub.writeMarker({ ...request, leaderEpoch: p.leaderEpoch }), true);
}

/**
 * Reads from the leader, or from `replica` when given (a replica near the reader, KIP-392): a
 * follower serves only what is below its own high watermark, and long-polls a reader caught up
 * with it; whatever it cannot answer (an offset past its watermark, a moved epoch, no answer) is
 * read from the leader instead.
 */
export async function readFrom(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  request: FetchRequest,
  replica?: number,
): Promise<ReadResult & { replica: number }> {
  const p = partitionOf(topic, partition);
  if (replica !== undefined && replica !== p.leader && p.replicas.includes(replica)) {
    try {
      const outcome = await replicaStub(env, topic.topicId, partition, replica).read({ ...request, leaderEpoch: p.leaderEpoch });
      // Records, or a reader caught up with this follower's watermark (its long-poll ran out here).
      // An offset past that watermark (the follower lags what the reader has seen) goes to the leader.
      if (outcome.ok && (outcome.value.nextOffset > request.offset || request.offset <= outcome.value.highWatermark))
        return { ...outcome.value, replica };
    } catch {
      // unreachable follower: the leader answers
    }
  }
  let served = p.leader;
  const result = await onLeader(env, topic, partition, (stub, q) => {
    served = q.leader;
    return stub.read({ ...request, leaderEpoch: q.leaderEpoch });
  });
  return { ...result, replica: served };
}

export async function statusOf(env: Env, topic: TopicMetadata, partition: number): Promise<LogStatus> {
  return onLeader(env, topic, partition, (stub) => stub.status() as Promise<Outcome<LogStatus>>);
}

/** Forwards a WebSocket upgrade to the leader, following leadership as onLeader does. */
export async function subscribeTo(env: Env, topic: TopicMetadata, partition: number, url: URL, headers: Headers): Promise<Response> {
  let current = topic;
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = partitionOf(current, partition);
    url.searchParams.set("leaderEpoch", String(p.leaderEpoch));
    let response: Response;
    try {
      response = await replicaStub(env, current.topicId, partition, p.leader).fetch(new Request(url, { headers }));
    } catch {
      if (attempt === 0) continue;
      current = await reportUnreachable(env, current, p);
      continue;
    }
    if (response.status === 101 || response.status !== 503) return response;
    const code = (
      (await response
        .clone()
        .json()
        .catch(() => null)) as { error?: { code?: ErrorCode } } | null
    )?.error?.code;
    if (!code || !MOVED.has(code)) return response;
    current = await refresh(env, current);
  }
  throw new EdgelogError("LEADER_NOT_AVAILABLE", `partition ${partition} has no reachable leader to subscribe to`);
}

/**
 * The first record at or after `timestamp` (Kafka's ListOffsets by time): the partition finds the
 * batch by its time index, the worker finds the record inside it. Null when no record is that new.
 */
export async function offsetForTimestamp(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  timestamp: number,
): Promise<{ offset: number; timestamp: number } | null> {
  const { batch } = await onLeader(env, topic, partition, (stub) => stub.batchAtTimestamp(timestamp));
  if (!batch) return null;
  const records = await decodeRecords(batch, { maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes });
  const record = records.find((r) => r.timestamp >= timestamp);
  return record ? { offset: record.offset, timestamp: record.timestamp } : null;
}
