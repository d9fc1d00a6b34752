/**
 * What a drain needs from the producer, so that drained batches are placed, sized, numbered and
 * retried as send()'s are (the Producer supplies it: ../producer/outbox-channel.ts).
 */
import type { RecordInput } from "../../protocol/record-batch";
import type { Identity, TopicInfo } from "../producer";

/** What drain needs from the producer (Producer supplies it). */
export interface OutboxChannel {
  topic(name: string, refresh?: boolean): Promise<TopicInfo>;
  /** The partition of a record without an explicit one: keyed (murmur2) or sticky. */
  partitionOf(topic: string, key: Uint8Array | null, partitions: number): number;
  /** A batch for this partition is complete (the sticky partition moves on). */
  sealed(topic: string, partition: number, partitions: number): void;
  limits(info: TopicInfo): { records: number; bytes: number };
  sizeOf(record: RecordInput): number;
  newIdentity(): Promise<Identity>;
  encode(records: RecordInput[], identity: Identity, baseSequence: number): Promise<Uint8Array>;
  /** Posts one batch, retrying as send() does; answers its offsets. */
  post(topic: string, partition: number, bytes: Uint8Array): Promise<{ baseOffset: number; duplicate: boolean }>;
}
