/**
 * Draining the outbox: once, across a crash. A drain sends one batch at a time. Before sending
 * it, one transaction stores `inflight` (which entries, the partition, the producer id, epoch and
 * base sequence the batch carries) and moves the partition's sequence counter past it. Only its
 * acknowledgement removes the entries and clears `inflight`, in one transaction. A drain that
 * finds `inflight` set (the last one died after sending, or its removal failed) resends exactly
 * that batch, same entries, same producer id, same sequence, and the partition answers it with the
 * offsets it stored the first time (duplicate: true) instead of storing it again. The server
 * remembers a producer's last five batches per partition until it has been idle 24 hours: resume
 * within a day. A drain runs under the outbox's lock (lock.ts).
 */
import { EdgelogError } from "../../protocol/errors";
import type { RecordInput } from "../../protocol/record-batch";
import type { TopicInfo } from "../producer";
import type { OutboxChannel } from "./channel";
import { isEntryFault } from "./faults";
import { tp, type InflightBatch } from "./state";
import type { Outbox, OutboxEntry } from "./store";
import { fromStoredRecord } from "./stored-record";

export interface DrainResult {
  /** Acknowledged entries, in the order they were sent; `duplicate` when a resend was recognised. */
  sent: { id: number; topic: string; partition: number; offset: number; duplicate: boolean }[];
  /** Entries the server refused for good, moved to the `rejected` store. */
  rejected: { id: number; topic: string; error: EdgelogError }[];
}

/** How many of the oldest entries a drain looks at to build one batch. */
const WINDOW = 10_000;

/**
 * Sends the outbox, one batch at a time, oldest entry first, under the outbox's lock. Entries of
 * one partition keep their order. Rejects when the server cannot be reached (what is in flight
 * stays in flight, for the next drain to resend as it is).
 */
export function drainOutbox(outbox: Outbox, channel: OutboxChannel): Promise<DrainResult> {
  return outbox.exclusive(() => new Drain(outbox, channel).run());
}

class Drain {
  #outbox: Outbox;
  #channel: OutboxChannel;
  #result: DrainResult = { sent: [], rejected: [] };
  /** Per partition, the most records a batch may hold after a MESSAGE_TOO_LARGE refusal. */
  #caps = new Map<string, number>();
  #resets = 0;

  constructor(outbox: Outbox, channel: OutboxChannel) {
    this.#outbox = outbox;
    this.#channel = channel;
  }

  async run(): Promise<DrainResult> {
    for (;;) {
      const { inflight } = await this.#outbox.state();
      const batch = inflight ? await this.#resume(inflight) : await this.#plan();
      if (batch === "empty") return this.#result;
      if (batch) await this.#send(batch.inflight, batch.entries);
    }
  }

  /** The batch a previous drain stored as in flight, exactly as it was. */
  async #resume(inflight: InflightBatch): Promise<{ inflight: InflightBatch; entries: OutboxEntry[] } | null> {
    const entries = await this.#outbox.get(inflight.ids);
    if (entries.every((e) => e !== undefined)) return { inflight, entries: entries as OutboxEntry[] };
    // Removed behind the drain's back: whether the batch was stored is unknown, so its sequence
    // numbers can never be reused; a new producer id numbers from 0.
    await this.#outbox.resetIdentity();
    return null;
  }

  /** The next batch: the oldest entry and the following ones of its partition, numbered and stored as in flight. */
  async #plan(): Promise<{ inflight: InflightBatch; entries: OutboxEntry[] } | "empty" | null> {
    const window = await this.#outbox.entries(WINDOW);
    if (window.length === 0) return "empty";
    const topic = window[0].topic;
    const candidates = window.filter((e) => e.topic === topic);
    let info: TopicInfo;
    try {
      info = await this.#channel.topic(topic);
      const beyond = (n: number) => candidates.filter((e) => e.record.partition !== undefined && e.record.partition >= n);
      if (beyond(info.partitions).length > 0) info = await this.#channel.topic(topic, true); // it may have grown
      const missing = beyond(info.partitions);
      if (missing.length > 0) {
        await this.#reject(missing, new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has ${info.partitions} partitions`));
        return null;
      }
    } catch (err) {
      if (!isEntryFault(err)) throw err;
      await this.#reject(candidates, err); // no such topic (or an invalid name)
      return null;
    }
    const partitionOf = (e: OutboxEntry, record: RecordInput) =>
      e.record.partition ?? this.#channel.partitionOf(topic, record.key, info.partitions);
    const partition = partitionOf(candidates[0], fromStoredRecord(candidates[0].record));
    const limits = this.#channel.limits(info);
    const cap = Math.min(limits.records, this.#caps.get(tp(topic, partition)) ?? Infinity);
    const chosen: OutboxEntry[] = [];
    let bytes = 0;
    for (const entry of candidates) {
      if (chosen.length >= cap) break;
      if (entry.record.partition !== undefined && entry.record.partition !== partition) continue;
      const record = fromStoredRecord(entry.record);
      if (partitionOf(entry, record) !== partition) continue;
      const size = this.#channel.sizeOf(record);
      if (chosen.length > 0 && bytes + size > limits.bytes) break;
      chosen.push(entry);
      bytes += size;
    }
    const identity = (await this.#outbox.state()).identity ?? (await this.#channel.newIdentity());
    const inflight = await this.#outbox.assign(
      identity,
      topic,
      partition,
      chosen.map((e) => e.id),
    );
    this.#channel.sealed(topic, partition, info.partitions);
    return { inflight, entries: chosen };
  }

  async #send(inflight: InflightBatch, entries: OutboxEntry[]): Promise<void> {
    const { topic, partition, producerId, producerEpoch, baseSequence } = inflight;
    const bytes = await this.#channel.encode(
      entries.map((e) => fromStoredRecord(e.record)),
      { producerId, producerEpoch },
      baseSequence,
    );
    let answer: { baseOffset: number; duplicate: boolean };
    try {
      answer = await this.#channel.post(topic, partition, bytes);
    } catch (err) {
      const code = err instanceof EdgelogError ? err.code : null;
      if (code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || code === "PRODUCER_FENCED") {
        // The partition no longer knows this producer (idle for 24 hours): start over with a new id.
        if (++this.#resets > 2) throw err;
        await this.#outbox.resetIdentity();
        return;
      }
      if (code === "MESSAGE_TOO_LARGE" && entries.length > 1) {
        this.#caps.set(tp(topic, partition), Math.ceil(entries.length / 2));
        await this.#channel.topic(topic, true).catch(() => {});
        await this.#outbox.unassign(inflight);
        return;
      }
      if (!isEntryFault(err)) throw err;
      await this.#reject(entries, err, inflight);
      return;
    }
    await this.#outbox.acknowledge(inflight);
    this.#resets = 0;
    entries.forEach((e, i) =>
      this.#result.sent.push({ id: e.id, topic, partition, offset: answer.baseOffset + i, duplicate: answer.duplicate }),
    );
  }

  async #reject(entries: OutboxEntry[], error: EdgelogError, batch?: InflightBatch): Promise<void> {
    await this.#outbox.reject(entries, error, batch);
    for (const e of entries) this.#result.rejected.push({ id: e.id, topic: e.topic, error });
  }
}
