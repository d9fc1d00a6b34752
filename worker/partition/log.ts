/**
 * The partition log: record batches in SQLite, dense offsets from 0, atomic appends.
 *
 * This class is the whole of the log's logic; the Durable Object around it only wires storage,
 * alarms and RPC. It never loads the log: appends write one row, reads select only the rows they
 * return, and its memory is a handful of numbers (offsets and byte positions) rebuilt from
 * SQLite when the object starts.
 */
import { EdgelogError } from "../../protocol/errors";
import { assignOffsets } from "../../protocol/record-batch";
import type { TopicConfig } from "../controller/topic-config";
import { IdempotenceStore } from "./idempotence-store";
import { advance, checkSequence, type ProducerEntry } from "./producer-state";
import { SCHEMA } from "./schema";
import type { AppendedBatch, AppendRequest, AppendResult, LogStatus, PartitionAssignment, ReadResult } from "./types";

/** The most batches one read returns (bounds a read of tiny batches with no record limit). */
const MAX_BATCHES_PER_READ = 10_000;

interface MetaRow extends Record<string, SqlStorageValue> {
  key: string;
  value: string;
}

export class PartitionLog {
  #sql: SqlStorage;
  #storage: DurableObjectStorage;
  #idempotence: IdempotenceStore;
  assignment: PartitionAssignment | null = null;
  logStartOffset = 0;
  logEndOffset = 0;
  highWatermark = 0;
  /** Byte position of the first stored batch, and of the end of the log. */
  startPosition = 0;
  endPosition = 0;
  #lastTimeIndex = -1;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#idempotence = new IdempotenceStore(storage.sql);
    // Tables are made when a topic takes the object, so an object nobody owns (or whose topic
    // was deleted) keeps no storage at all, even when a stale request reaches it.
    const made = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
    if (made) {
      // Tables and indexes a newer version declares reach objects made by an older one.
      this.#sql.exec(SCHEMA);
      this.#load();
    }
  }

  /** Rebuilds the in-memory numbers from SQLite (after a restart, reset or eviction). */
  #load(): void {
    const meta = new Map(this.#sql.exec<MetaRow>("SELECT key, value FROM meta").toArray().map((r) => [r.key, r.value]));
    const assignment = meta.get("assignment");
    this.assignment = assignment ? (JSON.parse(assignment) as PartitionAssignment) : null;
    const first = this.#sql
      .exec<{ base_offset: number; position: number }>("SELECT base_offset, position FROM batches ORDER BY base_offset LIMIT 1")
      .toArray()[0];
    const last = this.#sql
      .exec<{ last_offset: number; position: number; size: number; time_index: number }>(
        "SELECT last_offset, position, size, time_index FROM batches ORDER BY base_offset DESC LIMIT 1",
      )
      .toArray()[0];
    const emptyStart = Number(meta.get("log_start_offset") ?? 0);
    const emptyPosition = Number(meta.get("start_position") ?? 0);
    this.logStartOffset = first ? first.base_offset : emptyStart;
    this.startPosition = first ? first.position : emptyPosition;
    this.logEndOffset = last ? last.last_offset + 1 : emptyStart;
    this.endPosition = last ? last.position + last.size : emptyPosition;
    this.#lastTimeIndex = last ? last.time_index : -1;
    // One replica: everything appended is committed. Replication will keep its own watermark.
    this.highWatermark = this.logEndOffset;
  }

  /** The assignment, or UNKNOWN_TOPIC_OR_PARTITION for an object no topic owns (or a deleted one). */
  get owner(): PartitionAssignment {
    if (!this.assignment) throw new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", "this partition does not exist (or its topic was deleted)");
    return this.assignment;
  }

  /** Takes ownership for a topic; a second call with the same topic id only refreshes the config. */
  assign(assignment: PartitionAssignment): void {
    if (this.assignment && this.assignment.topicId !== assignment.topicId) {
      throw new EdgelogError("UNKNOWN_SERVER_ERROR", `partition object already belongs to topic id ${this.assignment.topicId}`);
    }
    if (!this.assignment) this.#sql.exec(SCHEMA);
    this.#putMeta("assignment", JSON.stringify(assignment));
    this.#load();
  }

  /** Forgets everything in memory, after the object's storage was wiped (topic deleted). */
  forget(): void {
    this.assignment = null;
    this.logStartOffset = this.logEndOffset = this.highWatermark = 0;
    this.startPosition = this.endPosition = 0;
    this.#lastTimeIndex = -1;
  }

  /** Replaces the topic config unless it is older than the one held; answers whether it did. */
  configure(config: TopicConfig, configVersion: number): boolean {
    if (configVersion < this.owner.configVersion) return false;
    this.assign({ ...this.owner, config, configVersion });
    return true;
  }

  /**
   * Appends batches atomically: all are stored (or recognised as retries) or none is.
   * Synchronous on purpose: with no await between the checks and the writes, no other request
   * can interleave, and the writes commit together.
   */
  append(request: AppendRequest, now: number): AppendResult {
    const { config, isr, leaderEpoch } = this.owner;
    if (request.acks === "all" && isr.length < config["min.insync.replicas"]) {
      throw new EdgelogError(
        "NOT_ENOUGH_REPLICAS",
        `${isr.length} in-sync replica(s), min.insync.replicas is ${config["min.insync.replicas"]}: acks=all is refused`,
      );
    }
    if (request.idempotencyKey !== undefined) {
      const batches = this.#idempotence.answered(request.idempotencyKey, request.digest);
      if (batches) return { batches, logStartOffset: this.logStartOffset, highWatermark: this.highWatermark };
    }
    for (const { header } of request.batches) {
      if (header.size > config["max.message.bytes"]) {
        throw new EdgelogError("MESSAGE_TOO_LARGE", `batch of ${header.size} bytes exceeds max.message.bytes ${config["max.message.bytes"]}`);
      }
      if (header.isTransactional || header.isControl) {
        throw new EdgelogError("INVALID_RECORD", "transactional and control batches are not supported");
      }
      if (header.timestampType === "logAppend") {
        throw new EdgelogError("INVALID_RECORD", "producers send create-time batches (the log-append-time bit is the broker's to set)");
      }
    }

    // Decide every batch before writing any: a refusal leaves the log untouched.
    const producers = new Map<number, ProducerEntry | undefined>();
    const plan: (AppendedBatch & { entry?: ProducerEntry })[] = [];
    let nextOffset = this.logEndOffset;
    for (const { header } of request.batches) {
      if (header.producerId < 0) {
        plan.push({ baseOffset: nextOffset, lastOffset: nextOffset + header.lastOffsetDelta, duplicate: false });
        nextOffset += header.lastOffsetDelta + 1;
        continue;
      }
      const entry = producers.has(header.producerId) ? producers.get(header.producerId) : this.#idempotence.producer(header.producerId);
      const check = checkSequence(entry, header);
      if (check.kind === "duplicate") {
        plan.push({ baseOffset: check.baseOffset, lastOffset: check.lastOffset, duplicate: true });
        continue;
      }
      const baseOffset = nextOffset;
      const lastOffset = nextOffset + header.lastOffsetDelta;
      const next = advance(entry, header, baseOffset, lastOffset);
      producers.set(header.producerId, next);
      plan.push({ baseOffset, lastOffset, duplicate: false, entry: next });
      nextOffset = lastOffset + 1;
    }

    let position = this.endPosition;
    let timeIndex = this.#lastTimeIndex;
    this.#storage.transactionSync(() => {
      request.batches.forEach(({ header, bytes }, i) => {
        const step = plan[i];
        if (step.duplicate) return;
        assignOffsets(bytes, step.baseOffset, leaderEpoch);
        timeIndex = Math.max(timeIndex, header.maxTimestamp);
        this.#sql.exec(
          "INSERT INTO batches (base_offset, last_offset, position, size, max_timestamp, time_index, leader_epoch, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          step.baseOffset,
          step.lastOffset,
          position,
          bytes.byteLength,
          header.maxTimestamp,
          timeIndex,
          leaderEpoch,
          bytes,
        );
        position += bytes.byteLength;
      });
      // In the same transaction as the batches: a batch is never stored without the state that
      // recognises its retry, nor that state without the batch.
      this.#idempotence.putProducers(producers, now);
      if (request.idempotencyKey !== undefined) {
        const result = plan.map(({ baseOffset, lastOffset, duplicate }) => ({ baseOffset, lastOffset, duplicate }));
        this.#idempotence.putRequestKey(request.idempotencyKey, request.digest, result, now);
      }
    });
    this.logEndOffset = nextOffset;
    this.endPosition = position;
    this.#lastTimeIndex = timeIndex;
    this.highWatermark = this.logEndOffset;
    return {
      batches: plan.map(({ baseOffset, lastOffset, duplicate }) => ({ baseOffset, lastOffset, duplicate })),
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
    };
  }

  /** Throws OFFSET_OUT_OF_RANGE unless logStartOffset <= offset <= highWatermark. */
  checkOffset(offset: number): void {
    this.owner;
    if (offset < this.logStartOffset || offset > this.highWatermark) {
      throw new EdgelogError(
        "OFFSET_OUT_OF_RANGE",
        `offset ${offset} is outside [${this.logStartOffset}, ${this.highWatermark}] (log start offset, high watermark)`,
      );
    }
  }

  /** Bytes stored from the batch holding `offset` up to the high watermark. */
  bytesAvailable(offset: number): number {
    if (offset >= this.highWatermark) return 0;
    const row = this.#sql
      .exec<{ position: number }>("SELECT position FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1", offset)
      .toArray()[0];
    return this.endPosition - (row ? row.position : this.startPosition);
  }

  /**
   * Reads whole batches from the one holding `offset`, below the high watermark, until
   * `maxRecords` records from `offset` on or `maxBytes` bytes are reached. The first batch is
   * always returned whole, even above maxBytes, so a large batch can never block a reader (KIP-74).
   */
  read(offset: number, maxBytes: number, maxRecords: number): ReadResult {
    this.checkOffset(offset);
    const chunks: ArrayBuffer[] = [];
    let bytes = 0;
    let nextOffset = offset;
    if (offset < this.highWatermark) {
      const start = this.#sql
        .exec<{ base_offset: number }>("SELECT base_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1", offset)
        .toArray()[0];
      const cursor = this.#sql.exec<{ last_offset: number; size: number; data: ArrayBuffer }>(
        "SELECT last_offset, size, data FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset LIMIT ?",
        start ? start.base_offset : this.logStartOffset,
        this.highWatermark,
        Math.min(Math.max(1, maxRecords), MAX_BATCHES_PER_READ),
      );
      let records = 0;
      for (const row of cursor) {
        if (chunks.length > 0 && bytes + row.size > maxBytes) break;
        chunks.push(row.data);
        bytes += row.size;
        nextOffset = row.last_offset + 1;
        records = nextOffset - offset;
        if (records >= maxRecords || bytes >= maxBytes) break;
      }
    }
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of chunks) {
      data.set(new Uint8Array(chunk), at);
      at += chunk.byteLength;
    }
    return { data, highWatermark: this.highWatermark, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset, nextOffset };
  }

  /**
   * The first batch below the high watermark whose running max timestamp reaches `timestamp`
   * (Kafka's time-index lookup); the caller finds the record within it. Null when none.
   */
  batchAtTimestamp(timestamp: number): Uint8Array | null {
    this.owner;
    const row = this.#sql
      .exec<{ data: ArrayBuffer }>(
        "SELECT data FROM batches WHERE time_index >= ? AND base_offset < ? ORDER BY time_index, base_offset LIMIT 1",
        timestamp,
        this.highWatermark,
      )
      .toArray()[0];
    return row ? new Uint8Array(row.data) : null;
  }

  status(): LogStatus {
    const { leaderEpoch } = this.owner;
    return {
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
      logEndOffset: this.logEndOffset,
      sizeBytes: this.endPosition - this.startPosition,
      leaderEpoch,
    };
  }

  /** Deletes batches below `offset` (whole batches only) and advances the log start offset. */
  truncateBefore(firstKeptOffset: number, firstKeptPosition: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM batches WHERE base_offset < ?", firstKeptOffset);
      this.#putMeta("log_start_offset", String(firstKeptOffset));
      this.#putMeta("start_position", String(firstKeptPosition));
    });
    this.logStartOffset = firstKeptOffset;
    this.startPosition = firstKeptPosition;
  }

  /** The oldest batches' metadata, for retention to walk without touching their bytes. */
  oldestBatches(limit: number): { base_offset: number; last_offset: number; position: number; size: number; max_timestamp: number }[] {
    return this.#sql
      .exec<{ base_offset: number; last_offset: number; position: number; size: number; max_timestamp: number }>(
        "SELECT base_offset, last_offset, position, size, max_timestamp FROM batches ORDER BY base_offset LIMIT ?",
        limit,
      )
      .toArray();
  }

  /** Forgets idempotency keys created before `before`, and producers idle since before `idleBefore`. */
  expireIdempotenceState(before: number, idleBefore: number): void {
    this.#idempotence.expire(before, idleBefore);
  }

  /** The oldest idempotency key's creation time and the longest-idle producer's last write. */
  oldestIdempotenceState(): { key: number | null; producer: number | null } {
    return this.#idempotence.oldest();
  }

  #putMeta(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }
}
