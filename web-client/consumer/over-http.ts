/**
 * The consumer over plain HTTP: a heartbeat loop follows the assignment, and each owned partition
 * is read by long-polled binary fetches. Only this loop heartbeats, because a heartbeat releases
 * what the previous answer took away, and the client must have committed those partitions first.
 */
import type { CommittedOffsetsAnswer } from "../api-types";
import { EdgelogError } from "../../protocol/errors";
import type { AbortedTransaction } from "../../protocol/isolation";
import { jsonRecordsFrom, type JsonRecord } from "../../protocol/json-record";
import { HEADERS } from "../../protocol/wire";
import type { TopicPartition } from "../group-subscription";
import { isRetriable, throttleDelay } from "../http";
import { tpKey, type ConsumerCore, type MemberAnswer, type Owned } from "./core";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Heartbeats and reads until stop() or a failure. `first` is the join answer to follow; without
 * one (after the group socket fell back) the first heartbeat goes at once.
 */
export async function consumeOverHttp(core: ConsumerCore, first: MemberAnswer | null): Promise<void> {
  let heartbeatMs = 0;
  let wake: (() => void) | null = null;
  const soon = () => {
    heartbeatMs = 0;
    wake?.();
  };
  core.onStaleGeneration = soon;
  const unregister = core.onInterrupt(() => wake?.());
  try {
    if (first) heartbeatMs = (await following(core, () => follow(core, first))) ?? 0;
    while (core.running) {
      await Promise.race([sleep(heartbeatMs), new Promise<void>((r) => (wake = r))]);
      if (!core.running) break;
      heartbeatMs = (await heartbeat(core)) ?? heartbeatMs;
      // Positions a refused (stale-generation) commit left behind go out with the new generation.
      if (core.options.autoCommit) await core.commit([...core.owned.values()]);
    }
  } finally {
    unregister();
  }
}

/** One heartbeat, followed; answers the next interval (undefined: keep it, after a transient failure). */
async function heartbeat(core: ConsumerCore): Promise<number | undefined> {
  let answer: MemberAnswer;
  try {
    answer = await core.http.json<MemberAnswer>(
      "POST",
      `/v1/groups/${encodeURIComponent(core.options.groupId)}/members/${encodeURIComponent(core.memberId!)}/heartbeat`,
    );
  } catch (err) {
    if (err instanceof EdgelogError && (err.code === "UNKNOWN_MEMBER_ID" || err.code === "FENCED_INSTANCE_ID")) {
      // Expired or replaced: everything we held is gone; start over.
      await core.release([...core.owned.values()], false);
      return following(core, async () => follow(core, await core.join()));
    }
    if (!isRetriable(err)) throw err;
    core.report(err);
    return undefined; // a transient failure: the next heartbeat retries
  }
  return following(core, () => follow(core, answer));
}

/**
 * Runs a step that follows an answer; a transient failure in it (the server restarting while
 * partitions are taken) is reported and answers undefined: the next heartbeat follows again,
 * and whatever was not taken yet is still missing from `owned`, so it is taken then.
 */
async function following(core: ConsumerCore, step: () => Promise<number>): Promise<number | undefined> {
  try {
    return await step();
  } catch (err) {
    if (!isRetriable(err)) throw err;
    core.report(err);
    return undefined;
  }
}

/** Applies an answer: stop and commit what was taken away, start what was given. Answers the next interval. */
async function follow(core: ConsumerCore, answer: MemberAnswer): Promise<number> {
  core.generation = answer.generation;
  let next = answer.heartbeatIntervalMs;
  const revoked = core.revokedBy(answer.assignment);
  if (revoked.length > 0) {
    await core.release(revoked, core.options.autoCommit);
    next = 0; // let go of them at once
  }
  const added = answer.assignment.filter((tp) => !core.owned.has(tpKey(tp)));
  if (added.length > 0) await start(core, added);
  return next;
}

/** Takes the partitions an answer gave, and starts a long-poll loop for each. */
async function start(core: ConsumerCore, tps: TopicPartition[]): Promise<void> {
  const committed = await core.http.json<CommittedOffsetsAnswer>("GET", `/v1/groups/${encodeURIComponent(core.options.groupId)}/offsets`);
  const byKey = new Map(committed.offsets.map((o) => [tpKey(o), { offset: o.offset, resetId: o.resetId }]));
  for (const tp of tps) {
    const owned = await core.own(tp, byKey.get(tpKey(tp)));
    owned.done = pollLoop(core, owned);
  }
}

/**
 * Reads one partition with long-polled binary fetches until it is taken away or the consumer
 * stops. Never rejects: a read aborted because the partition was let go of (or the consumer
 * stopped) ends the loop, a transient failure (no answer, the server restarting mid-body) is
 * retried with backoff, anything else fails the consumer (run() rejects with it).
 */
function pollLoop(core: ConsumerCore, o: Owned): Promise<void> {
  return readPartition(core, o).catch((err) => {
    if (!o.stopping && core.running) core.fail(err);
  });
}

async function readPartition(core: ConsumerCore, o: Owned): Promise<void> {
  const path = `/v1/topics/${encodeURIComponent(o.tp.topic)}/partitions/${o.tp.partition}/batches`;
  const committed = core.options.isolation === "read_committed";
  const isolation = committed ? "&isolation=read_committed" : "";
  let backoff = 50;
  while (core.running && !o.stopping) {
    let records: JsonRecord[];
    let highWatermark: number;
    let nextOffset: number;
    try {
      const res = await core.http.send(
        "GET",
        `${path}?offset=${o.position}&maxBytes=${core.options.maxBytes}&maxWaitMs=${core.options.maxWaitMs}${isolation}`,
        {
          signal: o.abort.signal,
        },
      );
      // The body is read under the same signal: an abort can land here too, not only in fetch().
      const bytes = new Uint8Array(await res.arrayBuffer());
      highWatermark = Number(res.headers.get(HEADERS.highWatermark));
      nextOffset = Number(res.headers.get(HEADERS.nextOffset) ?? o.position);
      // read_committed: the aborted transactions' records are left out here (protocol/isolation.ts).
      const aborted = committed ? abortedOf(res) : undefined;
      records = await jsonRecordsFrom(bytes, o.position, { allowPartialTail: true, aborted });
    } catch (err) {
      if (o.stopping || !core.running) return; // our own abort: expected
      if (err instanceof EdgelogError && err.code === "OFFSET_OUT_OF_RANGE") {
        o.position = await core.resetPosition(o.tp).catch((e) => retried(core, e, o.position));
        continue;
      }
      const throttled = throttleDelay(err);
      if (throttled !== undefined) {
        await sleep(throttled); // over the consumer_byte_rate quota: come back when it says
        continue;
      }
      retried(core, err, undefined);
      await sleep(backoff + Math.random() * backoff);
      backoff = Math.min(backoff * 2, 2_000);
      continue;
    }
    backoff = 50;
    if (o.stopping) continue;
    if (records.length === 0) {
      // Only offsets compaction removed: step past them.
      if (nextOffset > o.position) o.position = nextOffset;
      continue;
    }
    await core.handle(o, records, highWatermark, nextOffset);
    if (core.failure) return;
  }
}

/** The aborted transactions a read_committed fetch names (its edgelog-aborted-transactions header). */
function abortedOf(res: Response): AbortedTransaction[] {
  const header = res.headers.get(HEADERS.abortedTransactions);
  return header ? (JSON.parse(header) as AbortedTransaction[]) : [];
}

/** A failure worth retrying is reported (onError) and `fallback` answered; any other is thrown. */
function retried<T>(core: ConsumerCore, err: unknown, fallback: T): T {
  if (!isRetriable(err)) throw err;
  core.report(err);
  return fallback;
}
