/**
 * An idempotent, batching producer, as Kafka's with enable.idempotence and acks=all.
 *
 *   producer.ts        the Producer: send, flush, close, and the offline enqueue/drain
 *   records.ts         records validated and converted as the JSON API stores them
 *   options.ts         options, their defaults and validation
 *   partitioner.ts     placement: explicit, keyed (murmur2) or sticky (KIP-480)
 *   batching.ts        per-partition batches, sealed by linger, record count or bytes
 *   sender.ts          one batch sent idempotently: sequences, retries, what a failure leaves
 *   transaction.ts     transactions (KIP-98): begin, partitions and offsets added, commit, abort
 *   identity.ts        the producer id and epoch from POST /v1/producers
 *   metadata.ts        the topic metadata cache
 *   retry.ts           jittered exponential backoff
 *   outbox-channel.ts  what drain() shares with send(), for ../outbox
 *
 * @example
 * const producer = new Producer({ url: "http://127.0.0.1:8787", compression: "gzip" });
 * const [{ partition, offset }] = await producer.send("sensors", [{ key: "device-7", value: { celsius: 21.5 } }]);
 * await producer.close();
 */
export { Producer } from "./producer";
export type { RecordMetadata } from "./producer";
export type { Identity } from "./identity";
export type { TopicInfo } from "./metadata";
export type { ProducerOptions } from "./options";
export type { ProducerRecord } from "./records";
export type { RetryOptions } from "./retry";
export type { TransactionOffset, TransactionState } from "./transaction";
