/**
 * Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo the partition
 * count. Java clients, librdkafka's "murmur2_random" and kafkajs all place a keyed record the
 * same way, so edgelog must too for a key to land where other Kafka clients expect it.
 *
 * Algorithm (MurmurHash2, 32-bit, as org.apache.kafka.common.utils.Utils.murmur2):
 *   seed 0x9747b28c, m 0x5bd1e995, r 24
 *   h = seed ^ length
 *   each little-endian 4-byte word k:  k *= m; k ^= k >>> r; k *= m; h *= m; h ^= k
 *   1-3 trailing bytes t:              h ^= t[2] << 16; h ^= t[1] << 8; h ^= t[0]; h *= m
 *   finish:                            h ^= h >>> 13; h *= m; h ^= h >>> 15
 * All arithmetic is on 32-bit ints (Math.imul); the result is Java's signed int.
 * toPositive clears the sign bit rather than taking Math.abs, exactly as Kafka does.
 */

import { EdgelogError } from "./errors";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 hash of `bytes`, a signed 32-bit integer.
 *
 * @example
 * murmur2(new TextEncoder().encode("21")); // -973932308
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= bytes[whole + 2] << 16;
  if (tail >= 2) h ^= bytes[whole + 1] << 8;
  if (tail >= 1) h = Math.imul(h ^ bytes[whole], M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Clears the sign bit, as Kafka's Utils.toPositive (so -1 maps to 2147483647, not 1).
 *
 * @example
 * toPositive(-973932308); // 1173551340
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner picks for a non-null key.
 * Throws INVALID_PARTITIONS unless `numPartitions` is a positive integer.
 *
 * @example
 * partitionForKey(new TextEncoder().encode("user-42"), 12); // 0..11, same as a Java producer
 */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > 0x7fffffff) {
    throw new EdgelogError("INVALID_PARTITIONS", `numPartitions ${numPartitions} must be a positive integer`);
  }
  return toPositive(murmur2(keyBytes)) % numPartitions;
}
