/**
 * edgelog's TypeScript client, for browsers and Node alike (Web APIs only).
 *
 *   Consumer       a group consumer: server-side assignment, ordered batches, commits after processing
 *   Producer       an idempotent batching producer (linger, gzip, retries that cannot duplicate)
 *   Outbox         records produced offline, kept in IndexedDB and drained once, in order
 *   Subscription   a reconnecting WebSocket subscription to one partition
 *   GroupSubscription  a group member's one socket for all its partitions (the consumer's transport)
 *   OffsetCache    consumed offsets in IndexedDB
 *   HttpTransport  JSON and record-batch requests, errors as EdgelogError
 *   mintToken      HS256 tokens for EDGELOG_JWT_SECRET (mint them on a server: Node, a worker)
 *
 * The record codec (protocol/) is re-exported for producers that build RecordBatch v2 themselves.
 *
 * @example
 * import { Consumer } from "./web-client";
 * const consumer = new Consumer({ url: location.origin, groupId: "dashboard", topics: ["sensors"] });
 * consumer.run({ eachBatch: async ({ records }) => records.forEach((r) => console.log(r.value)) });
 */
export { Consumer } from "./consumer";
export type { ConsumedBatch, ConsumerOptions, TopicPartition } from "./consumer";
export { HttpTransport } from "./http";
export { Producer } from "./producer";
export type {
  Identity,
  ProducerOptions,
  ProducerRecord,
  RecordMetadata,
  RetryOptions,
  TopicInfo,
  TransactionOffset,
  TransactionState,
} from "./producer";
export { Outbox, drainOutbox } from "./outbox";
export type { DrainResult, InflightBatch, OutboxEntry, OutboxState, RejectedEntry, StoredRecord } from "./outbox";
export { OffsetCache } from "./offset-cache";
export type { CachedOffset } from "./offset-cache";
export { PUSH_CLOSE, Subscription } from "./subscription";
export type { SubscriptionOptions } from "./subscription";
export { GROUP_CLOSE, GroupSubscription } from "./group-subscription";
export type { AssignedPartition, Assignment, GroupRecords, GroupSubscriptionOptions } from "./group-subscription";
export type { HttpOptions } from "./http";
export { mintToken } from "./token";
export type { MintTokenOptions, TokenScopeEntry } from "./token";
// The wire vocabulary the server shares (close codes, frames, media types, header names).
export { CLOSE_CODES, HEADERS, MEDIA_TYPES, topicPartitionKey } from "../protocol/wire";
export type { GroupClientFrame, GroupServerFrame, PartitionClientFrame, PartitionServerFrame } from "../protocol/wire";
export * from "../protocol/index";
