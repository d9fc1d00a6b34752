/**
 * The outbox: records produced while offline, kept in IndexedDB (with `idb`) until drain() sends
 * them, once and in order, when the connection is back.
 *
 *   store.ts          the Outbox: the IndexedDB database, one transaction per step
 *   stored-record.ts  records as entries store them (JSON data, bytes in base64)
 *   state.ts          the outbox's producer id, sequences and batch in flight, as pure transitions
 *   drain.ts          drainOutbox: one batch at a time, resent as it was after a crash
 *   channel.ts        what a drain needs from the producer
 *   faults.ts         which refusals move entries to `rejected`
 *   lock.ts           one drain of an outbox at a time (Web Locks, or a mutex in Node)
 *
 * @example
 * const outbox = await Outbox.open("readings");
 * const producer = new Producer({ url: location.origin, outbox });
 * await producer.enqueue("sensors", [{ key: "device-7", value: { celsius: 21.5 } }]); // offline: kept
 * await producer.drain(); // online: sent once, in order, then removed
 */
export { Outbox } from "./store";
export type { OutboxEntry, RejectedEntry } from "./store";
export { drainOutbox } from "./drain";
export type { DrainResult } from "./drain";
export type { OutboxChannel } from "./channel";
export type { InflightBatch, OutboxState } from "./state";
export { fromStoredRecord, toStoredRecord } from "./stored-record";
export type { StoredRecord } from "./stored-record";
