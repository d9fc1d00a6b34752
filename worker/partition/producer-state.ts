/**
 * Idempotent producers, per partition, as Kafka's ProducerStateManager does it.
 *
 * A producer (id + epoch, issued by the controller) numbers its records per partition from 0.
 * For each batch the partition checks, in order:
 *   - epoch older than the newest seen            -> PRODUCER_FENCED
 *   - epoch newer: the sequence must restart at 0  -> else OUT_OF_ORDER_SEQUENCE_NUMBER
 *   - same epoch, same sequence range as one of the last five batches -> a retry: answered with
 *     the original offsets and not stored again
 *   - same epoch, baseSequence == lastSequence + 1 (wrapping at 2^31) -> appended
 *   - anything else (a gap, or an old batch no longer remembered) -> OUT_OF_ORDER_SEQUENCE_NUMBER
 * An unknown producer must start at sequence 0.
 */
import { EdgelogError } from "../../protocol/errors";
import type { BatchHeader } from "../../protocol/record-batch";

/** How many recent batches per producer are remembered for retries. */
export const RECENT_BATCHES = 5;
const INT32_MAX = 0x7fffffff;

/** One remembered batch: [baseSequence, lastSequence, baseOffset, lastOffset]. */
export type RecentBatch = [number, number, number, number];

export interface ProducerEntry {
  epoch: number;
  lastSequence: number;
  recent: RecentBatch[];
}

export type SequenceCheck = { kind: "append"; lastSequence: number } | { kind: "duplicate"; baseOffset: number; lastOffset: number };

/** The sequence of the batch's last record (sequences wrap to 0 after 2^31 - 1, as Kafka's). */
export function lastSequenceOf(header: BatchHeader): number {
  const last = header.baseSequence + header.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function nextSequence(sequence: number): number {
  return sequence === INT32_MAX ? 0 : sequence + 1;
}

/**
 * Decides what to do with an idempotent batch, given the producer's entry (or undefined).
 * Throws PRODUCER_FENCED or OUT_OF_ORDER_SEQUENCE_NUMBER; changes nothing.
 */
export function checkSequence(entry: ProducerEntry | undefined, header: BatchHeader): SequenceCheck {
  const { producerId, producerEpoch, baseSequence } = header;
  if (baseSequence < 0) {
    throw new EdgelogError(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
      `producer ${producerId} sent baseSequence ${baseSequence}; idempotent batches number their records from 0`,
    );
  }
  const lastSequence = lastSequenceOf(header);
  if (entry && producerEpoch < entry.epoch) {
    throw new EdgelogError("PRODUCER_FENCED", `producer ${producerId} epoch ${producerEpoch} is fenced by epoch ${entry.epoch}`);
  }
  if (!entry || producerEpoch > entry.epoch) {
    if (baseSequence !== 0) {
      throw new EdgelogError(
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        `producer ${producerId} epoch ${producerEpoch} must start at sequence 0 on this partition, got ${baseSequence}`,
      );
    }
    return { kind: "append", lastSequence };
  }
  const seen = entry.recent.find(([base, last]) => base === baseSequence && last === lastSequence);
  if (seen) return { kind: "duplicate", baseOffset: seen[2], lastOffset: seen[3] };
  const expected = nextSequence(entry.lastSequence);
  if (baseSequence !== expected) {
    throw new EdgelogError(
      "OUT_OF_ORDER_SEQUENCE_NUMBER",
      `producer ${producerId} epoch ${producerEpoch}: expected sequence ${expected}, got ${baseSequence}`,
    );
  }
  return { kind: "append", lastSequence };
}

/** The producer's entry after a batch was appended at [baseOffset, lastOffset]. */
export function advance(entry: ProducerEntry | undefined, header: BatchHeader, baseOffset: number, lastOffset: number): ProducerEntry {
  const sameEpoch = entry && entry.epoch === header.producerEpoch;
  const recent: RecentBatch[] = sameEpoch ? entry.recent.slice(-(RECENT_BATCHES - 1)) : [];
  const lastSequence = lastSequenceOf(header);
  recent.push([header.baseSequence, lastSequence, baseOffset, lastOffset]);
  return { epoch: header.producerEpoch, lastSequence, recent };
}

/**
 * The producer's entry after a batch that carries no sequence: a transaction marker, or a
 * transactional batch of the JSON API (which numbers nothing). Its epoch, when newer, fences the
 * older one and restarts the sequence; the same epoch leaves the entry as it is, so the producer's
 * sequence goes on across its transactions, as in Kafka.
 */
export function advanceEpoch(entry: ProducerEntry | undefined, epoch: number): ProducerEntry {
  if (entry && entry.epoch >= epoch) return entry;
  return { epoch, lastSequence: -1, recent: [] };
}

/** Throws PRODUCER_FENCED for an epoch older than the producer's newest. */
export function checkEpoch(entry: ProducerEntry | undefined, producerId: number, epoch: number): void {
  if (entry && epoch < entry.epoch) {
    throw new EdgelogError("PRODUCER_FENCED", `producer ${producerId} epoch ${epoch} is fenced by epoch ${entry.epoch}`);
  }
}
