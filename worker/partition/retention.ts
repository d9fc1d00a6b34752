/**
 * Retention, run by the partition's alarm: Kafka's cleanup.policy=delete, batch by batch (also
 * part of "compact,delete"; a "compact" topic is never trimmed by age or size).
 *
 * - retention.ms: from the oldest batch on, delete batches whose newest timestamp is older than
 *   now - retention.ms; stop at the first that is not (as Kafka stops at the first segment).
 * - retention.bytes: delete the oldest batches while the log minus that batch is still at least
 *   retention.bytes (Kafka's rule, so the log never drops below the limit).
 * Only whole batches below the high watermark are deleted; the log start offset moves to the
 * first batch kept. Work per alarm is bounded (PAGE rows). When the next run is due is the
 * partition's one alarm computation (partition-do #arm): an oldest batch already expired, or a log
 * still over retention.bytes, makes it due at once, so a log with more to delete runs again.
 */
import type { TopicConfig } from "../controller/topic-config";
import type { PartitionLog } from "./log";

const PAGE = 512;

export interface RetentionOutcome {
  deletedBatches: number;
}

/** Applies the topic's retention to the log at `now`. */
export function enforceRetention(log: PartitionLog, config: TopicConfig, now: number): RetentionOutcome {
  if (!deletes(config)) return { deletedBatches: 0 };
  const retentionMs = config["retention.ms"];
  const retentionBytes = config["retention.bytes"];
  const rows = log.oldestBatches(PAGE);
  let size = log.sizeBytes;
  let cut = 0;
  for (const row of rows) {
    if (row.last_offset >= log.highWatermark) break;
    const expired = retentionMs >= 0 && row.max_timestamp < now - retentionMs;
    const oversize = retentionBytes >= 0 && size - row.size >= retentionBytes;
    if (!expired && !oversize) break;
    size -= row.size;
    cut++;
  }
  if (cut > 0) {
    // The log starts after the last deleted batch (not at "the next row read": the page may end there).
    const last = rows[cut - 1];
    log.truncateBefore(last.last_offset + 1);
  }
  return { deletedBatches: cut };
}

/** True when deleting the oldest batch would keep the log at or above retention.bytes: worth an alarm now. */
export function overSizeLimit(log: PartitionLog, config: TopicConfig): boolean {
  const limit = config["retention.bytes"];
  if (!deletes(config) || limit < 0 || log.sizeBytes <= limit) return false;
  const oldest = log.oldestBatches(1)[0];
  return oldest !== undefined && log.sizeBytes - oldest.size >= limit;
}

/** Whether the topic's cleanup.policy includes "delete" (retention by age and size). */
export function deletes(config: TopicConfig): boolean {
  return config["cleanup.policy"] !== "compact";
}
