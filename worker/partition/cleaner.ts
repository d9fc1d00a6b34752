/**
 * Log compaction (cleanup.policy "compact" or "compact,delete"), run by the leader's alarm:
 * Kafka's log cleaner, in bounded steps.
 *
 * A pass:
 * 1. Picks its end E, a batch boundary: at most the last stable offset (no open transaction is
 *    compacted, and aborted records never count as a key's latest), before the last batch (the
 *    log's head, like Kafka's active segment), and before the first batch with a record younger
 *    than min.compaction.lag.ms. The dirty part is [cleanOffset, E).
 * 2. Maps every key in the dirty part to its latest offset (a Map bounded by MAX_KEYS; a full
 *    map cuts E at that batch, and the next pass goes on from there).
 * 3. Rewrites every batch in [log start, E): a record stays if it has a key, no later offset of
 *    its key is in the map, and it is not a tombstone below the tombstone horizon (see
 *    clean-passes.ts). Kept records keep their offsets and bytes (protocol/compaction.ts); a
 *    batch left empty goes. An aborted transaction's batches go whole. Control batches
 *    (transaction markers) and the idempotent producers' state (its own table) are never touched.
 * 4. Records cleanOffset = E and a new generation with the last step, and the pass in
 *    clean_passes.
 *
 * Steps read at most STEP_BYTES of batches and apply their changes in one synchronous
 * transaction, yielding between steps, so a produce or fetch waits for one step at most. One
 * alarm does at most ALARM_BUDGET_RECORDS records; a pass with more left asks for the alarm
 * again at once and goes on where it stopped (its map stays in memory; after an eviction the
 * pass starts over, which is safe: a step only removes records that a later record of their
 * key supersedes, and that record is kept). Memory is the map plus one step, whatever the log's
 * size. A pass stops at once if this replica stops leading or its epoch changes.
 */
import { retainRecords } from "../../protocol/compaction";
import { EdgelogError } from "../../protocol/errors";
import { decodeRecords, splitBatches } from "../../protocol/record-batch";
import type { BatchHeader } from "../../protocol/record-batch";
import type { DecodedRecord } from "../../protocol/records";
import { LIMITS } from "../../protocol/limits";
import { CleanPasses } from "./clean-passes";
import type { BatchChange, PartitionLog } from "./log";

/** The most keys one pass maps (Kafka sizes its offset map by log.cleaner.dedupe.buffer.size). */
export const MAX_KEYS = 200_000;
/** The most bytes of batches one step reads. */
export const STEP_BYTES = 256 * 1024;
/** The most records one alarm processes before it hands over to the next (the CPU limit of one event). */
export const ALARM_BUDGET_RECORDS = 200_000;
/** How soon a pass runs once the dirty ratio is reached (appends arriving meanwhile join it). */
export const COMPACTION_DELAY_MS = 1_000;

interface Pass {
  leaderEpoch: number;
  gen: string;
  end: number;
  /** Where the phase goes on from. */
  cursor: number;
  phase: "map" | "rewrite";
  latest: Map<string, number>;
  horizon: number;
  oldestTombstone: number | null;
}

/** What a run did: whether a pass is still under way (run again at once). */
export interface CleanOutcome {
  more: boolean;
  /** A pass ended: its changes are final and followers may take them. */
  ended: boolean;
}

/** Whether the topic compacts. */
export function compacts(policy: string): boolean {
  return policy === "compact" || policy === "compact,delete";
}

/** A keyless record produced to a compacted topic: refused, as Kafka refuses it. */
export function keylessOnCompacted(topic: string, which: string): EdgelogError {
  return new EdgelogError(
    "INVALID_RECORD",
    `${which} has no key, and topic "${topic}" is compacted (cleanup.policy compact keeps the latest record of each key)`,
  );
}

/** A key as a map key: its bytes as one char each (exact, unlike a hash). */
function keyString(key: Uint8Array): string {
  let out = "";
  for (let i = 0; i < key.length; i += 4096) out += String.fromCharCode(...key.subarray(i, i + 4096));
  return out;
}

const yieldToRequests = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Cleaner {
  #log: PartitionLog;
  #passes: CleanPasses;
  #pass: Pass | null = null;
  /** A pass found nothing to do: none is due again before `at` unless the log end passes `logEnd`. */
  #idle: { at: number; logEnd: number } | null = null;

  constructor(log: PartitionLog, sql: SqlStorage) {
    this.#log = log;
    this.#passes = new CleanPasses(sql);
  }

  /** Drops a pass under way (the object was wiped, or stopped leading). */
  forget(): void {
    this.#pass = null;
    this.#idle = null;
  }

  /**
   * When a pass is next due, or null: at once for a pass under way; COMPACTION_DELAY_MS after
   * the dirty part reached min.cleanable.dirty.ratio; when the oldest dirty record reaches
   * max.compaction.lag.ms; when a kept tombstone may go.
   */
  dueAt(now: number, delay = COMPACTION_DELAY_MS): number | null {
    const log = this.#log;
    const config = log.assignment?.config;
    if (!config || !compacts(config["cleanup.policy"]) || !log.isLeader) return null;
    if (this.#pass) return now;
    const dues: number[] = [];
    const tombstone = this.#passes.tombstoneDue();
    if (tombstone !== null) dues.push(tombstone);
    if (log.logEndOffset > log.cleanOffset) {
      const dirtyDues: number[] = [];
      const cleanPosition = log.batches.cleanPosition(log.cleanOffset, log.endPosition);
      const dirty = log.endPosition - cleanPosition;
      const clean = Math.max(0, cleanPosition - log.startPosition - log.compactedBytes);
      if (dirty > 0 && dirty / (dirty + clean) >= config["min.cleanable.dirty.ratio"]) dirtyDues.push(now + delay);
      const maxLag = config["max.compaction.lag.ms"];
      const dirtySince = maxLag < Number.MAX_SAFE_INTEGER ? log.batches.firstDirtyTime(log.cleanOffset) : null;
      if (dirtySince !== null) dirtyDues.push(dirtySince + maxLag + 1);
      // Nothing was cleanable at the last look: not again until that may have changed.
      const idle = this.#idle && log.logEndOffset <= this.#idle.logEnd ? this.#idle.at : null;
      for (const at of dirtyDues) if (idle === null || idle < Number.POSITIVE_INFINITY) dues.push(idle === null ? at : Math.max(at, idle));
    }
    return dues.length === 0 ? null : Math.min(...dues);
  }

  /** Runs (or goes on with) a pass, when one is due at `now`; see the file comment. */
  async run(now: number): Promise<CleanOutcome> {
    // Run by the alarm: the delay that lets appends gather before a pass is over.
    const due = this.dueAt(now, 0);
    if (due === null || due > now) return { more: false, ended: false };
    const pass = this.#pass ?? this.#begin(now);
    if (!pass) return { more: false, ended: false };
    this.#pass = pass;
    let budget = ALARM_BUDGET_RECORDS;
    while (budget > 0) {
      if (!this.#current(pass)) {
        this.#pass = null;
        return { more: false, ended: false };
      }
      if (pass.phase === "map") budget -= await this.#mapStep(pass);
      else {
        const { records, ended } = await this.#rewriteStep(pass, now);
        budget -= records;
        if (ended) {
          this.#pass = null;
          return { more: false, ended: true };
        }
      }
      await yieldToRequests();
    }
    return { more: true, ended: false };
  }

  #aborted(header: BatchHeader): boolean {
    return header.isTransactional && !header.isControl && this.#log.txns.abortedAt(header.producerId, header.baseOffset);
  }

  #current(pass: Pass): boolean {
    const log = this.#log;
    return this.#pass === pass && log.isLeader && log.owner.leaderEpoch === pass.leaderEpoch && log.assignment !== null;
  }

  #begin(now: number): Pass | null {
    const log = this.#log;
    const config = log.owner.config;
    const last = log.batches.lastBatchBase();
    if (last === null) return null;
    // Never into an open transaction: below the last stable offset, every batch's outcome is known.
    let limit = Math.min(log.txns.lastStableOffset(log.highWatermark), last);
    const young = log.batches.firstBatchAfter(now - config["min.compaction.lag.ms"]);
    if (young) limit = Math.min(limit, young.baseOffset);
    const end = log.batches.batchStartingAt(limit) ?? limit;
    const tombstonesDue = (this.#passes.tombstoneDue() ?? Number.POSITIVE_INFINITY) <= now;
    if (end <= log.cleanOffset && !tombstonesDue) {
      // Why nothing is cleanable says when to look again: a young record's age, or more log.
      const ageAt = young ? young.timeIndex + config["min.compaction.lag.ms"] + 1 : Number.POSITIVE_INFINITY;
      const watermarkAt = log.highWatermark < last ? now + COMPACTION_DELAY_MS : Number.POSITIVE_INFINITY;
      this.#idle = { at: Math.min(ageAt, watermarkAt), logEnd: log.logEndOffset };
      return null;
    }
    this.#idle = null;
    const [epochPart, countPart] = log.cleanGen.split(".");
    const count = Number(epochPart) === log.owner.leaderEpoch ? Number(countPart) + 1 : 1;
    return {
      leaderEpoch: log.owner.leaderEpoch,
      gen: `${log.owner.leaderEpoch}.${count}`,
      end: Math.max(end, log.cleanOffset),
      cursor: log.cleanOffset,
      phase: "map",
      latest: new Map(),
      horizon: this.#passes.horizon(now, config["delete.retention.ms"]),
      oldestTombstone: null,
    };
  }

  /** Maps the keys of the next step's batches; answers the records it read. */
  async #mapStep(pass: Pass): Promise<number> {
    const { data, next } = this.#log.batches.batchesForSync(pass.cursor, pass.end, STEP_BYTES);
    let records = 0;
    for (const { header, bytes } of splitBatches(data)) {
      if (header.isControl || this.#aborted(header)) continue;
      if (pass.latest.size + header.recordCount > MAX_KEYS && header.baseOffset > this.#log.cleanOffset) {
        // Full: this pass ends before this batch.
        pass.end = header.baseOffset;
        break;
      }
      for (const record of await decodeRecords(bytes, { checkedHeader: header, maxUncompressedBytes: LIMITS.maxUncompressedBatchBytes })) {
        if (record.key !== null) pass.latest.set(keyString(record.key), record.offset);
      }
      records += header.recordCount;
    }
    pass.cursor = Math.min(next, pass.end);
    if (pass.cursor >= pass.end) {
      pass.phase = "rewrite";
      pass.cursor = this.#log.logStartOffset;
    }
    return Math.max(records, 1);
  }

  /** Rewrites the next step's batches and applies the changes; the last step ends the pass. */
  async #rewriteStep(pass: Pass, now: number): Promise<{ records: number; ended: boolean }> {
    const log = this.#log;
    const { data, next } = log.batches.batchesForSync(pass.cursor, pass.end, STEP_BYTES);
    const keep = (record: DecodedRecord): boolean => {
      if (record.key === null) return false;
      const latest = pass.latest.get(keyString(record.key));
      if (latest !== undefined && latest > record.offset) return false;
      if (record.value === null) {
        if (record.offset < pass.horizon) return false;
        if (pass.oldestTombstone === null || record.offset < pass.oldestTombstone) pass.oldestTombstone = record.offset;
      }
      return true;
    };
    const changes: BatchChange[] = [];
    let records = 0;
    for (const { header, bytes } of splitBatches(data)) {
      records += header.recordCount;
      // An aborted transaction's records are no one's: they go (the marker stays), as in Kafka.
      if (this.#aborted(header)) {
        changes.push({ baseOffset: header.baseOffset, data: null });
        continue;
      }
      const kept = await retainRecords(bytes, keep, LIMITS.maxUncompressedBatchBytes);
      if (kept !== bytes) changes.push({ baseOffset: header.baseOffset, data: kept });
    }
    // Between the last await and the write nothing else runs: the check holds for the write.
    if (!this.#current(pass)) return { records, ended: false };
    const ended = next >= pass.end;
    log.compact(changes, ended ? { cleanOffset: pass.end, gen: pass.gen } : undefined);
    if (ended) this.#passes.ended(pass.end, now, pass.oldestTombstone, log.owner.config["delete.retention.ms"]);
    pass.cursor = next;
    return { records: Math.max(records, 1), ended };
  }
}
