/**
 * Placement, as the server's JSON API and Kafka's default partitioner: an explicit partition wins
 * (the caller's to apply); a keyed record goes to partitionForKey(keyBytes) (murmur2); unkeyed
 * records stick to one partition per topic until a batch of it is complete, then move on (KIP-480).
 */
import { partitionForKey } from "../../protocol/murmur2";

export class Partitioner {
  #sticky = new Map<string, number>();

  /** The partition of a record without an explicit one: keyed (murmur2) or sticky. */
  partitionOf(topic: string, key: Uint8Array | null, partitions: number): number {
    return key !== null ? partitionForKey(key, partitions) : this.#stickyPartition(topic, partitions);
  }

  /** KIP-480: unkeyed records move to another partition once a batch of their partition is complete. */
  sealed(topic: string, partition: number, partitions: number): void {
    if (this.#sticky.get(topic) !== partition || partitions < 2) return;
    this.#sticky.set(topic, (partition + 1 + Math.floor(Math.random() * (partitions - 1))) % partitions);
  }

  #stickyPartition(topic: string, partitions: number): number {
    let partition = this.#sticky.get(topic);
    if (partition === undefined || partition >= partitions) {
      partition = Math.floor(Math.random() * partitions);
      this.#sticky.set(topic, partition);
    }
    return partition;
  }
}
