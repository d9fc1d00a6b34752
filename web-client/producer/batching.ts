/**
 * Batching: records wait per (topic, partition) for up to `lingerMs`, or until `batchRecords`
 * records or `batchBytes` bytes (never above the topic's max.message.bytes), and are then sealed
 * into a batch. A partition's batches go out one at a time, in order, so its records keep the
 * order they were given in.
 */
import { RECORD_BATCH_OVERHEAD, type RecordInput } from "../../protocol/record-batch";
import { topicPartitionKey } from "../../protocol/wire";
import type { TopicInfo } from "./metadata";
import type { PlacedRecord } from "./records";

/** A record in a batch, with the settlers of its send() promise. */
export interface Pending {
  record: RecordInput;
  resolve(offset: number | null): void;
  reject(err: unknown): void;
}

export interface BatchLimits {
  lingerMs: number;
  batchRecords: number;
  batchBytes: number;
}

/** Where sealed batches go. */
export interface BatchSink {
  /** A batch of this partition is complete (the sticky partition moves on). */
  sealed(topic: string, partition: number, partitions: number): void;
  /** Sends one batch and settles its records' promises; never throws. */
  deliver(topic: string, partition: number, batch: Pending[]): Promise<void>;
}

/** One partition's records: the batch filling up and the batches ready. */
interface Lane {
  topic: string;
  partition: number;
  partitions: number;
  open: Pending[];
  openBytes: number;
  timer: ReturnType<typeof setTimeout> | null;
  ready: Pending[][];
  sending: boolean;
}

/** The most record bytes one batch of the topic may hold. */
export function batchRoom(batchBytes: number, info: TopicInfo): number {
  return Math.min(batchBytes, info.maxMessageBytes) - RECORD_BATCH_OVERHEAD;
}

export class Accumulator {
  #limits: BatchLimits;
  #sink: BatchSink;
  #lanes = new Map<string, Lane>();

  constructor(limits: BatchLimits, sink: BatchSink) {
    this.#limits = limits;
    this.#sink = sink;
  }

  /** Adds a record to its partition's filling batch; settles with its offset once the batch is delivered. */
  append(topic: string, partition: number, info: TopicInfo, r: PlacedRecord): Promise<number | null> {
    const key = topicPartitionKey(topic, partition);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { topic, partition, partitions: 0, open: [], openBytes: 0, timer: null, ready: [], sending: false };
      this.#lanes.set(key, lane);
    }
    lane.partitions = info.partitions;
    const room = batchRoom(this.#limits.batchBytes, info);
    const target = lane;
    return new Promise((resolve, reject) => {
      if (target.open.length > 0 && target.openBytes + r.size > room) this.#seal(target);
      target.open.push({ record: r.record, resolve, reject });
      target.openBytes += r.size;
      if (target.open.length >= this.#limits.batchRecords || target.openBytes >= room) this.#seal(target);
      else target.timer ??= setTimeout(() => this.#seal(target), this.#limits.lingerMs);
    });
  }

  /** Seals every partition's filling batch now, without waiting for lingerMs. */
  sealAll(): void {
    for (const lane of this.#lanes.values()) this.#seal(lane);
  }

  /** Closes the lane's filling batch and lets it go. */
  #seal(lane: Lane): void {
    if (lane.timer !== null) clearTimeout(lane.timer);
    lane.timer = null;
    if (lane.open.length === 0) return;
    lane.ready.push(lane.open);
    lane.open = [];
    lane.openBytes = 0;
    this.#sink.sealed(lane.topic, lane.partition, lane.partitions);
    void this.#pump(lane);
  }

  /** Sends the lane's ready batches one at a time, in order. */
  async #pump(lane: Lane): Promise<void> {
    if (lane.sending) return;
    lane.sending = true;
    try {
      for (let batch = lane.ready.shift(); batch; batch = lane.ready.shift()) {
        const sent = batch;
        // deliver() settles the records itself; should it ever throw, its records still learn why
        // (this loop runs unawaited, so a rejection here would reach the host).
        await this.#sink.deliver(lane.topic, lane.partition, sent).catch((err) => sent.forEach((p) => p.reject(err)));
      }
    } finally {
      lane.sending = false;
    }
  }
}
