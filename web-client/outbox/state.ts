/**
 * The outbox's producer state, as plain data and pure transitions: its own producer id and epoch,
 * the next sequence number per partition, and the batch in flight (stored before it is sent, so
 * a drain after a crash resends exactly that batch).
 */
import { topicPartitionKey } from "../../protocol/wire";
import type { Identity } from "../producer";

/** The batch being sent, stored before it is sent: what a resend needs to be the same batch. */
export interface InflightBatch extends Identity {
  topic: string;
  partition: number;
  ids: number[];
  baseSequence: number;
}

export interface OutboxState {
  identity: Identity | null;
  /** The next sequence number per "topic\0partition", for `identity`. */
  sequences: Record<string, number>;
  inflight: InflightBatch | null;
}

const SEQUENCE_WRAP = 0x80000000;

/** The key of a partition in `sequences` (and of a drain's per-partition caps); stored, so frozen. */
export const tp = topicPartitionKey;

export const emptyState = (): OutboxState => ({ identity: null, sequences: {}, inflight: null });

/** The state once a batch is numbered with `identity` and the partition's next sequence, and in flight. */
export function assigned(
  state: OutboxState,
  identity: Identity,
  topic: string,
  partition: number,
  ids: number[],
): OutboxState & { inflight: InflightBatch } {
  const same = state.identity?.producerId === identity.producerId && state.identity.producerEpoch === identity.producerEpoch;
  const sequences = same ? { ...state.sequences } : {};
  const baseSequence = sequences[tp(topic, partition)] ?? 0;
  sequences[tp(topic, partition)] = (baseSequence + ids.length) % SEQUENCE_WRAP;
  const inflight: InflightBatch = { ...identity, topic, partition, ids, baseSequence };
  return { identity: { ...identity }, sequences, inflight };
}

/** The state once a batch was refused before it was stored: no longer in flight, its sequence numbers free again. */
export function rewound(state: OutboxState, batch: InflightBatch): OutboxState {
  return { ...state, sequences: { ...state.sequences, [tp(batch.topic, batch.partition)]: batch.baseSequence }, inflight: null };
}
