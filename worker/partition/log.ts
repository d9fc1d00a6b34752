/**
 * The partition log: record batches in SQLite, offsets from 0, atomic appends.
 *
 * Offsets are dense as appended; compaction (cleaner.ts) later removes records from batches, or
 * whole batches, so a compacted log has gaps, which every read path steps over: a read starts at
 * the first batch holding an offset at or after the one asked for, and its nextOffset passes
 * any removed tail.
 *
 * This class is the whole of the log's logic; the Durable Object around it only wires storage,
 * alarms and RPC. It never loads the log: appends write one row, reads select only the rows they
 * return, and its memory is a handful of numbers (offsets and byte positions) rebuilt from
 * SQLite when the object starts.
 */
import { EdgelogError } from "../../protocol/errors";
import { assignOffsets, readBatchHeader, type BatchHeader } from "../../protocol/record-batch";
import type { TopicConfig } from "../controller/topic-config";
import { addMissingColumns } from "../storage/migrate";
import { IdempotenceStore, type RequestKeyRow } from "./idempotence-store";
import type { EpochEntry } from "./leader-epochs";
import { encodeControlBatch, readControlRecord } from "../../protocol/control";
import { advance, advanceEpoch, checkEpoch, checkSequence, RECENT_BATCHES, type ProducerEntry } from "./producer-state";
import { BatchIndex } from "./batch-index";
import { TxnIndex } from "./txn-index";
import { ADDED_COLUMNS, LATE_INDEXES, SCHEMA } from "./schema";
import type { AppendedBatch, AppendRequest, AppendResult, LogStatus, PartitionAssignment, ReadResult } from "./types";

/** The most batches one read returns (bounds a read of tiny batches with no record limit). */
const MAX_BATCHES_PER_READ = 10_000;

/** A batch compaction rewrites: its new bytes, or null when it goes. */
export interface BatchChange {
  baseOffset: number;
  data: Uint8Array | null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

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
  /**
   * Byte position of the first stored batch, and of the end of the log. Positions are logical:
   * the bytes appended before a batch, which compaction does not change (it shrinks batches in
   * place), so replicas agree on them and a suffix's appended size is still a subtraction.
   */
  startPosition = 0;
  endPosition = 0;
  /** Bytes compaction removed from the batches still stored: the log holds `endPosition - startPosition - compactedBytes`. */
  compactedBytes = 0;
  /**
   * Compaction's progress (see cleaner.ts): every batch below `cleanOffset` was compacted at
   * least once, by the pass named `cleanGen` ("<leader epoch>.<pass>", "" before any). A
   * follower whose generation differs from its leader's takes the leader's compacted batches.
   */
  cleanOffset = 0;
  cleanGen = "";
  #lastTimeIndex = -1;
  /** This partition's transactions (the last stable offset, aborted transactions). */
  readonly txns: TxnIndex;
  /** What compaction and its replication ask of the stored batches. */
  readonly batches: BatchIndex;
  /** Cached MAX(epoch) of leader_epochs; null when it must be read again. */
  #lastEpoch: number | null = null;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#idempotence = new IdempotenceStore(storage.sql);
    this.txns = new TxnIndex(storage.sql);
    this.batches = new BatchIndex(storage.sql);
    // Tables are made when a topic takes the object, so an object nobody owns (or whose topic
    // was deleted) keeps no storage at all, even when a stale request reaches it.
    const made = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
    if (made) {
      // Tables and indexes a newer version declares reach objects made by an older one.
      this.#migrate();
      this.#load();
    }
  }

  #migrate(): void {
    this.#sql.exec(SCHEMA);
    for (const [table, columns] of Object.entries(ADDED_COLUMNS)) addMissingColumns(this.#sql, table, columns);
    this.#sql.exec(LATE_INDEXES);
  }

  /** Rebuilds the in-memory numbers from SQLite (after a restart, reset or eviction). */
  #load(): void {
    const meta = new Map(
      this.#sql
        .exec<MetaRow>("SELECT key, value FROM meta")
        .toArray()
        .map((r) => [r.key, r.value]),
    );
    const assignment = meta.get("assignment");
    this.assignment = assignment ? (JSON.parse(assignment) as PartitionAssignment) : null;
    const last = this.#sql
      .exec<{ last_offset: number; position: number; size: number; time_index: number }>(
        "SELECT last_offset, position, size, time_index FROM batches ORDER BY base_offset DESC LIMIT 1",
      )
      .toArray()[0];
    // The start is what retention (or a reset) last recorded, not the first row: compaction may
    // have emptied the first batches, and offsets below the first row are still in the log.
    this.logStartOffset = Number(meta.get("log_start_offset") ?? 0);
    this.startPosition = Number(meta.get("start_position") ?? 0);
    this.logEndOffset = last ? last.last_offset + 1 : this.logStartOffset;
    this.endPosition = last ? last.position + last.size : this.startPosition;
    this.#lastTimeIndex = last ? last.time_index : -1;
    this.compactedBytes = Number(meta.get("compacted_bytes") ?? 0);
    this.cleanOffset = Number(meta.get("clean_offset") ?? 0);
    this.cleanGen = meta.get("clean_gen") ?? "";
    // A leader alone in its in-sync set commits what it appends; otherwise the watermark is the
    // one last recorded (the leader recomputes it as followers report, a follower learns it).
    const alone = this.assignment !== null && this.isLeader && this.assignment.isr.length === 1;
    const recorded = Number(meta.get("high_watermark") ?? this.logStartOffset);
    this.highWatermark = alone ? this.logEndOffset : Math.max(this.logStartOffset, Math.min(recorded, this.logEndOffset));
    // Logs made before epochs were remembered were written under epoch 0 by their only replica.
    if (this.logEndOffset > this.logStartOffset && this.epochs().length === 0) this.#putEpoch(0, this.logStartOffset);
  }

  /** Whether this replica is its partition's leader (as far as it knows). */
  get isLeader(): boolean {
    const a = this.owner;
    return (a.leader ?? a.replica) === a.replica;
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
    if (!this.assignment) this.#migrate();
    this.#putMeta("assignment", JSON.stringify(assignment));
    this.#load();
  }

  /** Records a new leadership (leader, epoch, in-sync set) the replica accepted; see leadership.ts. */
  lead(change: Pick<PartitionAssignment, "leader" | "leaderEpoch" | "isr">): void {
    const next = { ...this.owner, ...change };
    this.#storage.transactionSync(() => {
      this.#putMeta("assignment", JSON.stringify(next));
      // A new leader's epoch starts at its log end: what it appends from now on is of this epoch.
      if (next.leader === next.replica && change.leaderEpoch > this.lastEpoch) this.#putEpoch(change.leaderEpoch, this.logEndOffset);
    });
    this.assignment = next;
    if (this.isLeader && next.isr.length === 1) this.setHighWatermark(this.logEndOffset);
  }

  /** The epoch entries of the log, ascending (see leader-epochs.ts). */
  epochs(): EpochEntry[] {
    return this.#sql
      .exec<{ epoch: number; start_offset: number }>("SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch")
      .toArray()
      .map((r) => ({ epoch: r.epoch, startOffset: r.start_offset }));
  }

  /** The newest epoch the log holds batches of (or was led in), -1 for none. */
  get lastEpoch(): number {
    if (this.#lastEpoch === null)
      this.#lastEpoch = this.#sql.exec<{ e: number | null }>("SELECT MAX(epoch) AS e FROM leader_epochs").one().e ?? -1;
    return this.#lastEpoch;
  }

  #putEpoch(epoch: number, startOffset: number): void {
    this.#sql.exec("INSERT OR REPLACE INTO leader_epochs (epoch, start_offset) VALUES (?, ?)", epoch, startOffset);
    this.#lastEpoch = null;
  }

  /**
   * Moves the high watermark (never backwards, never past the log end) and records it, so a
   * restarted replica does not serve past what was committed. Answers whether it moved.
   */
  setHighWatermark(offset: number): boolean {
    const next = Math.min(offset, this.logEndOffset);
    if (next <= this.highWatermark) return false;
    this.highWatermark = next;
    this.#putMeta("high_watermark", String(next));
    return true;
  }

  /** Forgets everything in memory, after the object's storage was wiped (topic deleted). */
  forget(): void {
    this.assignment = null;
    this.logStartOffset = this.logEndOffset = this.highWatermark = 0;
    this.startPosition = this.endPosition = this.compactedBytes = this.cleanOffset = 0;
    this.cleanGen = "";
    this.#lastTimeIndex = -1;
    this.#lastEpoch = null;
  }

  /** The bytes the log holds (what retention.bytes limits). */
  get sizeBytes(): number {
    return this.endPosition - this.startPosition - this.compactedBytes;
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
    const { config, isr, replicas, leaderEpoch } = this.owner;
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
    // A resent request is recognised batch by batch against the last RECENT_BATCHES of each
    // producer: one carrying more than that from a producer could be applied and then, resent
    // after a lost answer, refused as out of order. So it is refused up front (as Kafka bounds
    // an idempotent producer's in-flight batches to 5).
    const perProducer = new Map<number, number>();
    for (const { header } of request.batches) {
      if (header.producerId < 0) continue;
      const n = (perProducer.get(header.producerId) ?? 0) + 1;
      if (n > RECENT_BATCHES) {
        throw new EdgelogError(
          "INVALID_REQUEST",
          `at most ${RECENT_BATCHES} batches of one idempotent producer per request (producer ${header.producerId} sent more)`,
        );
      }
      perProducer.set(header.producerId, n);
    }
    for (const { header } of request.batches) {
      if (header.size > config["max.message.bytes"]) {
        throw new EdgelogError(
          "MESSAGE_TOO_LARGE",
          `batch of ${header.size} bytes exceeds max.message.bytes ${config["max.message.bytes"]}`,
        );
      }
      if (header.isControl) {
        throw new EdgelogError(
          "INVALID_RECORD",
          "control batches (transaction markers) are written by the transaction coordinator, not produced",
        );
      }
      if (header.isTransactional && header.producerId < 0) {
        throw new EdgelogError("INVALID_RECORD", "a transactional batch needs a producer id (POST /v1/producers with a transactionalId)");
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
      if (header.baseSequence < 0 && header.isTransactional) {
        // A JSON transactional batch: no sequence to check, only the epoch.
        checkEpoch(entry, header.producerId, header.producerEpoch);
        const next = advanceEpoch(entry, header.producerEpoch);
        producers.set(header.producerId, next);
        plan.push({ baseOffset: nextOffset, lastOffset: nextOffset + header.lastOffsetDelta, duplicate: false, entry: next });
        nextOffset += header.lastOffsetDelta + 1;
        continue;
      }
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

    const end = { position: this.endPosition, timeIndex: this.#lastTimeIndex };
    this.#storage.transactionSync(() => {
      // The first batch of an epoch marks where the epoch starts (what truncation compares).
      if (nextOffset > this.logEndOffset && leaderEpoch > this.lastEpoch) this.#putEpoch(leaderEpoch, this.logEndOffset);
      request.batches.forEach(({ header, bytes }, i) => {
        const step = plan[i];
        if (step.duplicate) return;
        assignOffsets(bytes, step.baseOffset, leaderEpoch);
        this.#insertBatch(end, step.baseOffset, step.lastOffset, leaderEpoch, header.maxTimestamp, bytes);
        this.txns.track(header, step.baseOffset, null);
      });
      // In the same transaction as the batches: a batch is never stored without the state that
      // recognises its retry, nor that state without the batch.
      this.#idempotence.putProducers(producers, now);
      if (request.idempotencyKey !== undefined) {
        const result = plan.map(({ baseOffset, lastOffset, duplicate }) => ({ baseOffset, lastOffset, duplicate }));
        this.#idempotence.putRequestKey(request.idempotencyKey, request.digest, result, now, nextOffset);
      }
      // Recorded for a replicated partition, whose in-sync set may grow again (a lone replica's is its log end).
      if (isr.length === 1 && replicas.length > 1) this.#putMeta("high_watermark", String(nextOffset));
    });
    this.logEndOffset = nextOffset;
    this.endPosition = end.position;
    this.#lastTimeIndex = end.timeIndex;
    // Alone in the in-sync set, the leader commits at once; otherwise followers move the watermark.
    if (isr.length === 1) this.highWatermark = this.logEndOffset;
    return {
      batches: plan.map(({ baseOffset, lastOffset, duplicate }) => ({ baseOffset, lastOffset, duplicate })),
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
    };
  }

  /**
   * Throws OFFSET_OUT_OF_RANGE unless logStartOffset <= offset <= the log end. With one replica
   * the log end is the high watermark. With replicas, an offset between the two (records stored
   * here but not yet committed, as just after a failover, when the new leader's watermark still
   * lags the one the old leader showed) is a valid position with nothing to read yet, as in
   * Kafka: reads answer no records and long-polls wait, so a consumer never resets its position.
   */
  checkOffset(offset: number): void {
    this.owner;
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      const end =
        this.logEndOffset === this.highWatermark
          ? `${this.highWatermark}] (log start offset, high watermark)`
          : `${this.logEndOffset}] (log start offset, log end offset; high watermark ${this.highWatermark})`;
      throw new EdgelogError("OFFSET_OUT_OF_RANGE", `offset ${offset} is outside [${this.logStartOffset}, ${end}`);
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
  read(offset: number, maxBytes: number, maxRecords: number, committed = false): ReadResult {
    this.checkOffset(offset);
    const lastStableOffset = this.txns.lastStableOffset(this.highWatermark);
    if (!committed) return { ...this.#readBelow(this.highWatermark, offset, maxBytes, maxRecords), lastStableOffset };
    // read_committed: nothing at or past the last stable offset, and the aborted transactions
    // whose records the reader must drop (the Kafka fetch's aborted_transactions).
    const result = this.#readBelow(lastStableOffset, offset, maxBytes, maxRecords);
    return { ...result, lastStableOffset, abortedTransactions: this.txns.abortedBetween(offset, result.nextOffset) };
  }

  /**
   * Appends a transaction marker (KIP-98): a control batch that ends the producer's transaction
   * here, COMMIT or ABORT. Refused with PRODUCER_FENCED if the partition has seen a newer epoch
   * of the producer; a newer epoch in the marker (an abort after a timeout, or a fenced producer's
   * transaction) fences the older one here. A marker with no transaction open here is still
   * written (a partition added to a transaction that sent it nothing), as in Kafka.
   */
  appendMarker(
    marker: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number },
    now: number,
  ): { offset: number } {
    const { leaderEpoch, isr } = this.owner;
    const entry = this.#idempotence.producer(marker.producerId);
    checkEpoch(entry, marker.producerId, marker.producerEpoch);
    const offset = this.logEndOffset;
    const bytes = encodeControlBatch({
      type: marker.commit ? "commit" : "abort",
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      coordinatorEpoch: marker.coordinatorEpoch,
      timestamp: now,
      baseOffset: offset,
      partitionLeaderEpoch: leaderEpoch,
    });
    const header = readBatchHeader(bytes, 0, { checkCrc: false });
    const end = { position: this.endPosition, timeIndex: this.#lastTimeIndex };
    this.#storage.transactionSync(() => {
      if (leaderEpoch > this.lastEpoch) this.#putEpoch(leaderEpoch, offset);
      this.#insertBatch(end, offset, offset, leaderEpoch, header.maxTimestamp, bytes);
      this.txns.track(header, offset, { abort: !marker.commit });
      this.#idempotence.putProducers(new Map([[marker.producerId, advanceEpoch(entry, marker.producerEpoch)]]), now);
      if (isr.length === 1 && this.owner.replicas.length > 1) this.#putMeta("high_watermark", String(offset + 1));
    });
    this.logEndOffset = offset + 1;
    this.endPosition = end.position;
    this.#lastTimeIndex = end.timeIndex;
    if (isr.length === 1) this.highWatermark = this.logEndOffset;
    return { offset };
  }

  /**
   * What the leader ships to a follower: whole batches from `offset` (a batch boundary: the
   * follower's log end) up to the log end, committed or not, at most about `maxBytes`.
   */
  readForFollower(offset: number, maxBytes: number): ReadResult {
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new EdgelogError("OFFSET_OUT_OF_RANGE", `follower offset ${offset} is outside [${this.logStartOffset}, ${this.logEndOffset}]`);
    }
    return this.#readBelow(this.logEndOffset, offset, maxBytes, MAX_BATCHES_PER_READ);
  }

  #readBelow(limit: number, offset: number, maxBytes: number, maxRecords: number): ReadResult {
    const chunks: ArrayBuffer[] = [];
    let bytes = 0;
    let nextOffset = offset;
    if (offset < limit) {
      // The batch holding `offset`; when compaction emptied it, the reader starts at the next one.
      const start = this.#sql
        .exec<{ base_offset: number; last_offset: number }>(
          "SELECT base_offset, last_offset FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1",
          offset,
        )
        .toArray()[0];
      const rowLimit = Math.min(Math.max(1, maxRecords), MAX_BATCHES_PER_READ);
      const cursor = this.#sql.exec<{ last_offset: number; size: number; data: ArrayBuffer }>(
        "SELECT last_offset, size, data FROM batches WHERE base_offset >= ? AND base_offset < ? ORDER BY base_offset LIMIT ?",
        start && start.last_offset >= offset ? start.base_offset : offset,
        limit,
        rowLimit,
      );
      let rows = 0;
      let full = false;
      for (const row of cursor) {
        if (chunks.length > 0 && bytes + row.size > maxBytes) {
          full = true;
          break;
        }
        chunks.push(row.data);
        bytes += row.size;
        rows++;
        nextOffset = row.last_offset + 1;
        if (nextOffset - offset >= maxRecords || bytes >= maxBytes) {
          full = true;
          break;
        }
      }
      // Every batch below the limit was read: whatever lies between the last and the limit was
      // compacted away, so the reader goes on from the limit (and never reads that gap again).
      if (!full && rows < rowLimit) nextOffset = limit;
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
   * Applies compaction to stored batches, in one transaction: each change replaces a batch's
   * bytes with a smaller batch of the records it keeps (same offsets, so the row keeps its base
   * and last offset, its position and its time index) or deletes the batch (null). A batch no
   * longer stored (retention removed it meanwhile) is skipped, unless `restore` (a follower
   * taking its leader's batches, see takeCompacted) asks for it to be stored again.
   * `progress`, given, records how far compaction has reached and the pass's generation with
   * the same write.
   */
  compact(changes: BatchChange[], progress?: { cleanOffset: number; gen: string }, restore = false): void {
    let compacted = this.compactedBytes;
    this.#storage.transactionSync(() => {
      for (const { baseOffset, data } of changes) {
        const row = this.#sql.exec<{ size: number }>("SELECT size FROM batches WHERE base_offset = ?", baseOffset).toArray()[0];
        if (!row) {
          if (restore && data !== null && baseOffset >= this.logStartOffset && baseOffset < this.logEndOffset) {
            this.#restoreBatch(baseOffset, data);
            compacted -= data.byteLength;
          }
          continue;
        }
        if (data === null) {
          this.#sql.exec("DELETE FROM batches WHERE base_offset = ?", baseOffset);
          compacted += row.size;
        } else {
          const maxTimestamp = readBatchHeader(data, 0, { checkCrc: false }).maxTimestamp;
          this.#sql.exec(
            "UPDATE batches SET data = ?, size = ?, max_timestamp = ? WHERE base_offset = ?",
            data,
            data.byteLength,
            maxTimestamp,
            baseOffset,
          );
          compacted += row.size - data.byteLength;
        }
      }
      compacted = Math.max(0, compacted);
      if (compacted !== this.compactedBytes) this.#putMeta("compacted_bytes", String(compacted));
      if (progress) {
        this.#putMeta("clean_offset", String(progress.cleanOffset));
        this.#putMeta("clean_gen", progress.gen);
      }
    });
    // The bounds stay: the log start is recorded apart from the rows, and the cleaner never
    // removes a leader's last batch (a follower's may go, which a restart reads as an earlier
    // log end, from where the leader ships what follows the gap).
    this.compactedBytes = compacted;
    if (progress) {
      this.cleanOffset = progress.cleanOffset;
      this.cleanGen = progress.gen;
    }
  }

  /**
   * A follower takes its leader's batches for [from, to): each of its own batches there becomes
   * the leader's (the same offsets; the bytes compaction left), goes if the leader's compaction
   * removed it, or comes back if the leader still holds what this replica compacted away (it
   * compacted further while it led). `progress` on the last range of a sync records the
   * leader's compaction state, after which this replica's log below it is the leader's, byte
   * for byte.
   */
  takeCompacted(from: number, to: number, batches: BatchChange[], progress?: { cleanOffset: number; gen: string }): void {
    const leader = new Map(batches.map((b) => [b.baseOffset, b.data]));
    const changes: BatchChange[] = [];
    for (const row of this.#sql.exec<{ base_offset: number; size: number; data: ArrayBuffer }>(
      "SELECT base_offset, size, data FROM batches WHERE base_offset >= ? AND base_offset < ?",
      from,
      to,
    )) {
      const theirs = leader.get(row.base_offset);
      leader.delete(row.base_offset);
      if (theirs === undefined || theirs === null) changes.push({ baseOffset: row.base_offset, data: null });
      else if (theirs.byteLength !== row.size || !sameBytes(theirs, new Uint8Array(row.data)))
        changes.push({ baseOffset: row.base_offset, data: theirs });
    }
    for (const [baseOffset, data] of leader) if (data !== null) changes.push({ baseOffset, data });
    this.compact(changes, progress, true);
  }

  /** Stores again a batch this replica compacted away, between its neighbours (positions and time index from them). */
  #restoreBatch(baseOffset: number, data: Uint8Array): void {
    const header = readBatchHeader(data, 0, { checkCrc: true });
    const next = this.#sql
      .exec<{ position: number; time_index: number }>(
        "SELECT position, time_index FROM batches WHERE base_offset > ? ORDER BY base_offset LIMIT 1",
        baseOffset,
      )
      .toArray()[0];
    const timeIndex = next ? next.time_index : Math.max(this.#lastTimeIndex, header.maxTimestamp);
    this.#sql.exec(
      "INSERT INTO batches (base_offset, last_offset, position, size, max_timestamp, time_index, leader_epoch, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      baseOffset,
      baseOffset + header.lastOffsetDelta,
      next ? next.position : this.endPosition,
      data.byteLength,
      header.maxTimestamp,
      timeIndex,
      header.partitionLeaderEpoch,
      data,
    );
  }

  /** Idempotency keys whose answers name offsets in [from, to), to ship with those batches. */
  requestKeysBetween(from: number, to: number): RequestKeyRow[] {
    return this.#idempotence.keysBetween(from, to);
  }

  /**
   * A follower appends batches the leader shipped, at the offsets the leader gave them: they
   * continue this log's end (past any offsets the leader's compaction removed). Producer state is advanced from the batch headers, the
   * leader's idempotency keys are stored, and epochs are recorded, all in one transaction, so
   * a follower that becomes leader recognises retries just as the old leader would have.
   */
  appendReplicated(data: Uint8Array, keys: RequestKeyRow[], now: number): void {
    const batches: { header: BatchHeader; bytes: Uint8Array }[] = [];
    let expected = this.logEndOffset;
    for (let at = 0; at < data.byteLength; ) {
      const header = readBatchHeader(data, at, { checkCrc: true });
      // A batch may start after the previous one's end: the leader compacted away the batches
      // between (offsets are never reused, so it can never start before).
      if (header.baseOffset < expected) {
        throw new EdgelogError(
          "OFFSET_OUT_OF_RANGE",
          `replicated batch starts at ${header.baseOffset}, this replica's log ends at ${expected}`,
        );
      }
      batches.push({ header, bytes: data.subarray(at, at + header.size) });
      expected = header.baseOffset + header.lastOffsetDelta + 1;
      at += header.size;
    }
    const end = { position: this.endPosition, timeIndex: this.#lastTimeIndex };
    let lastEpoch = this.lastEpoch;
    this.#storage.transactionSync(() => {
      const producers = new Map<number, ProducerEntry | undefined>();
      for (const { header, bytes } of batches) {
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        const epoch = header.partitionLeaderEpoch;
        if (epoch < lastEpoch) {
          // An older epoch's batch where a newer epoch was recorded to start: that epoch (a
          // leadership this replica held without writing) holds nothing here. Drop its record,
          // so epochs say what each offset really is (Kafka's LeaderEpochFileCache.assign).
          this.#sql.exec("DELETE FROM leader_epochs WHERE start_offset >= ? AND epoch > ?", header.baseOffset, epoch);
          this.#lastEpoch = null;
          lastEpoch = this.lastEpoch;
        }
        if (epoch > lastEpoch) {
          this.#putEpoch(epoch, header.baseOffset);
          lastEpoch = epoch;
        }
        this.#insertBatch(end, header.baseOffset, lastOffset, epoch, header.maxTimestamp, bytes);
        const marker = header.isControl ? { abort: readControlRecord(bytes, header).type === "abort" } : null;
        this.txns.track(header, header.baseOffset, marker);
        if (header.producerId >= 0) {
          const entry = producers.has(header.producerId) ? producers.get(header.producerId) : this.#idempotence.producer(header.producerId);
          const unsequenced = header.isControl || (header.isTransactional && header.baseSequence < 0);
          producers.set(
            header.producerId,
            unsequenced ? advanceEpoch(entry, header.producerEpoch) : advance(entry, header, header.baseOffset, lastOffset),
          );
        }
      }
      this.#idempotence.putProducers(producers, now);
      this.#idempotence.putKeys(keys);
    });
    this.logEndOffset = expected;
    this.endPosition = end.position;
    this.#lastTimeIndex = end.timeIndex;
  }

  /**
   * Drops every batch from `offset` on (a divergent suffix, KIP-101), with the epochs, producer
   * state and idempotency keys that belong to it. A batch straddling `offset` goes too.
   */
  truncateTo(offset: number): void {
    if (offset >= this.logEndOffset) return;
    const straddling = this.#sql
      .exec<{ base_offset: number; position: number }>(
        "SELECT base_offset, position FROM batches WHERE base_offset <= ? ORDER BY base_offset DESC LIMIT 1",
        offset,
      )
      .toArray()[0];
    const cut =
      straddling &&
      straddling.base_offset < offset &&
      this.#sql.exec("SELECT 1 FROM batches WHERE base_offset = ? AND last_offset >= ?", straddling.base_offset, offset).toArray().length >
        0
        ? straddling.base_offset
        : offset;
    const cutRow = this.#sql
      .exec<{ position: number }>("SELECT position FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1", cut)
      .toArray()[0];
    if (!cutRow) return;
    const compacted = this.compactedBytes - this.#compactedIn(this.endPosition - cutRow.position, "base_offset >= ?", cut);
    // Headers of the dropped batches (the first 61 bytes of each), for the producer state to roll back.
    const dropped: BatchHeader[] = [];
    for (const row of this.#sql.exec<{ head: ArrayBuffer }>(
      "SELECT substr(data, 1, 61) AS head FROM batches WHERE base_offset >= ? ORDER BY base_offset",
      cut,
    )) {
      dropped.push(readBatchHeader(new Uint8Array(row.head), 0, { checkCrc: false, headerOnly: true }));
    }
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM batches WHERE base_offset >= ?", cut);
      this.#sql.exec("DELETE FROM leader_epochs WHERE start_offset >= ? AND start_offset > ?", cut, this.logStartOffset);
      this.#lastEpoch = null;
      this.#idempotence.rollBack(dropped, cut);
      this.txns.truncateFrom(cut);
      if (this.highWatermark > cut) this.#putMeta("high_watermark", String(cut));
      if (compacted !== this.compactedBytes) this.#putMeta("compacted_bytes", String(compacted));
    });
    this.compactedBytes = compacted;
    this.logEndOffset = cut;
    this.endPosition = cutRow.position;
    this.highWatermark = Math.min(this.highWatermark, cut);
    const last = this.#sql.exec<{ time_index: number }>("SELECT time_index FROM batches ORDER BY base_offset DESC LIMIT 1").toArray()[0];
    this.#lastTimeIndex = last ? last.time_index : -1;
  }

  /**
   * Empties the log and starts it again at `offset` (a follower so far behind that the leader's
   * retention removed what it needs next): it then fetches everything from there.
   */
  resetTo(offset: number, position: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM batches");
      this.#sql.exec("DELETE FROM leader_epochs");
      this.#lastEpoch = null;
      this.#sql.exec("DELETE FROM producers");
      this.#sql.exec("DELETE FROM request_keys");
      this.#putMeta("log_start_offset", String(offset));
      this.#putMeta("start_position", String(position));
      this.#putMeta("high_watermark", String(offset));
      this.#putMeta("compacted_bytes", "0");
      this.#sql.exec("DELETE FROM meta WHERE key IN ('clean_offset', 'clean_gen', 'tombstone_due')");
      this.#sql.exec("DELETE FROM clean_passes");
      this.txns.clear();
    });
    this.logStartOffset = this.logEndOffset = this.highWatermark = offset;
    this.startPosition = this.endPosition = position;
    this.compactedBytes = this.cleanOffset = 0;
    this.cleanGen = "";
    this.#lastTimeIndex = -1;
  }

  /**
   * The first batch below the high watermark whose running max timestamp reaches `timestamp`
   * (Kafka's time-index lookup); the caller finds the record within it. Null when none.
   */
  batchAtTimestamp(timestamp: number): Uint8Array | null {
    this.owner;
    // The time index seeks to the first batch whose running maximum is that new; compaction may
    // have removed the records that made it so, hence the scan on to one whose own newest is.
    const row = this.#sql
      .exec<{ data: ArrayBuffer }>(
        "SELECT data FROM batches WHERE time_index >= ? AND max_timestamp >= ? AND base_offset < ? ORDER BY time_index, base_offset LIMIT 1",
        timestamp,
        timestamp,
        this.highWatermark,
      )
      .toArray()[0];
    return row ? new Uint8Array(row.data) : null;
  }

  status(): LogStatus {
    const { leaderEpoch, replica, leader } = this.owner;
    return {
      logStartOffset: this.logStartOffset,
      highWatermark: this.highWatermark,
      lastStableOffset: this.txns.lastStableOffset(this.highWatermark),
      logEndOffset: this.logEndOffset,
      sizeBytes: this.sizeBytes,
      leaderEpoch,
      replica,
      leader: leader ?? replica,
      isLeader: this.isLeader,
    };
  }

  /** Deletes batches below `offset` (whole batches only) and advances the log start offset. */
  truncateBefore(firstKeptOffset: number): void {
    // Where the first kept batch starts (positions count the bytes compaction removed, so this is
    // not the last deleted row's position plus its stored size).
    const next = this.#sql
      .exec<{ position: number }>("SELECT position FROM batches WHERE base_offset >= ? ORDER BY base_offset LIMIT 1", firstKeptOffset)
      .toArray()[0];
    const firstKeptPosition = next ? next.position : this.endPosition;
    const compacted = this.compactedBytes - this.#compactedIn(firstKeptPosition - this.startPosition, "base_offset < ?", firstKeptOffset);
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM batches WHERE base_offset < ?", firstKeptOffset);
      this.#putMeta("log_start_offset", String(firstKeptOffset));
      this.#putMeta("start_position", String(firstKeptPosition));
      this.#putMeta("compacted_bytes", String(compacted));
      this.txns.dropBefore(firstKeptOffset);
    });
    this.logStartOffset = firstKeptOffset;
    this.startPosition = firstKeptPosition;
    this.compactedBytes = compacted;
  }

  /** Bytes compaction removed from the rows `where` selects, which span `extent` logical bytes. */
  #compactedIn(extent: number, where: string, ...args: SqlStorageValue[]): number {
    if (this.compactedBytes === 0) return 0;
    const stored = this.#sql.exec<{ n: number | null }>(`SELECT SUM(size) AS n FROM batches WHERE ${where}`, ...args).one().n ?? 0;
    return Math.max(0, extent - stored);
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

  /**
   * Stores one batch row at the log's end (`end`: the byte position and running max timestamp,
   * advanced past it). Both appends, the leader's and a follower's, write rows this way.
   */
  #insertBatch(
    end: { position: number; timeIndex: number },
    baseOffset: number,
    lastOffset: number,
    epoch: number,
    maxTimestamp: number,
    bytes: Uint8Array,
  ): void {
    end.timeIndex = Math.max(end.timeIndex, maxTimestamp);
    this.#sql.exec(
      "INSERT INTO batches (base_offset, last_offset, position, size, max_timestamp, time_index, leader_epoch, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      baseOffset,
      lastOffset,
      end.position,
      bytes.byteLength,
      maxTimestamp,
      end.timeIndex,
      epoch,
      bytes,
    );
    end.position += bytes.byteLength;
  }

  #putMeta(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, value);
  }
}
