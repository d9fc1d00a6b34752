/**
 * Which partition a record goes to, as Kafka's default partitioner decides:
 *   - an explicit partition wins;
 *   - a keyed record goes to toPositive(murmur2(keyBytes)) % partitions, so Kafka clients and
 *     edgelog agree on where a key lives;
 *   - unkeyed records stick to one partition until about BATCH_BYTES went there, then move to
 *     another (Kafka's sticky partitioner, KIP-480): few, large batches instead of many small ones.
 * With an idempotency key, unkeyed records go to the partition the key hashes to instead, so a
 * retried request lands exactly where its first attempt did.
 */
import { partitionForKey } from "../../../protocol/murmur2";

/** Kafka's batch.size default: how much unkeyed data sticks to one partition. */
export const BATCH_BYTES = 16_384;

const sticky = new Map<string, { partition: number; bytes: number }>();
const encoder = new TextEncoder();

/** The sticky partition for a topic's unkeyed records in this isolate. */
export function stickyPartition(topicId: string, partitions: number): number {
  let state = sticky.get(topicId);
  if (!state || state.partition >= partitions) {
    state = { partition: Math.floor(Math.random() * partitions), bytes: 0 };
    sticky.set(topicId, state);
  }
  return state.partition;
}

/** Counts bytes sent to the sticky partition; past BATCH_BYTES the next request moves on. */
export function stickySent(topicId: string, partitions: number, bytes: number): void {
  const state = sticky.get(topicId);
  if (!state) return;
  state.bytes += bytes;
  if (state.bytes >= BATCH_BYTES && partitions > 1) {
    const step = 1 + Math.floor(Math.random() * (partitions - 1));
    sticky.set(topicId, { partition: (state.partition + step) % partitions, bytes: 0 });
  }
}

/** The partition an idempotency key pins unkeyed records to. */
export function partitionForIdempotencyKey(idempotencyKey: string, partitions: number): number {
  return partitionForKey(encoder.encode(idempotencyKey), partitions);
}
