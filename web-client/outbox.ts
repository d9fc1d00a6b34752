/**
 * The outbox: records produced while offline, kept in IndexedDB (with `idb`) until drain() sends
 * them, once and in order, when the connection is back.
 *
 * The database "edgelog-outbox-<name>" holds three object stores:
 *   entries   {id, topic, record, enqueuedAt}; the auto-increment id is the send order. A record
 *             is JSON data: key, value and header values in base64, its timestamp fixed when it
 *             was enqueued, an explicit partition if it had one.
 *   state     "producer" -> {identity, sequences, inflight}: the outbox's own producer id and
 *             epoch, the next sequence number per partition, and the batch being sent.
 *   rejected  entries the server refused as invalid (a topic or partition that does not exist, a
 *             record too large or invalid): nothing of them was stored. Kept with the error.
 *
 * Once, across a crash: drain sends one batch at a time. Before sending it, one transaction
 * stores `inflight` (which entries, the partition, the producer id, epoch and base sequence the
 * batch carries) and moves the partition's sequence counter past it. Only its acknowledgement
 * removes the entries and clears `inflight`, in one transaction. A drain that finds `inflight`
 * set (the last one died after sending, or its removal failed) resends exactly that batch, same
 * entries, same producer id, same sequence, and the partition answers it with the offsets it
 * stored the first time (duplicate: true) instead of storing it again. The server remembers a
 * producer's last five batches per partition until it has been idle 24 hours: resume within a day.
 *
 * Two tabs never drain one outbox at once: drain holds the Web Lock "edgelog-outbox-<name>"
 * (navigator.locks) when there is one, and otherwise (Node) an in-process mutex per name.
 *
 * @example
 * const outbox = await Outbox.open("readings");
 * const producer = new Producer({ url: location.origin, outbox });
 * await producer.enqueue("sensors", [{ key: "device-7", value: { celsius: 21.5 } }]); // offline: kept
 * await producer.drain(); // online: sent once, in order, then removed
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { fromBase64, toBase64 } from "../protocol/base64";
import { EdgelogError, type ErrorCode } from "../protocol/errors";
import type { RecordInput } from "../protocol/record-batch";
import type { Identity, TopicInfo } from "./producer";

/** A record as an outbox entry stores it: JSON data, bytes in base64. */
export interface StoredRecord {
  key: string | null;
  value: string | null;
  headers: [string, string | null][];
  timestamp: number;
  partition?: number;
}

export interface OutboxEntry {
  id: number;
  topic: string;
  record: StoredRecord;
  enqueuedAt: number;
}

export interface RejectedEntry extends OutboxEntry {
  error: { code: ErrorCode; message: string };
  rejectedAt: number;
}

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

export interface DrainResult {
  /** Acknowledged entries, in the order they were sent; `duplicate` when a resend was recognised. */
  sent: { id: number; topic: string; partition: number; offset: number; duplicate: boolean }[];
  /** Entries the server refused for good, moved to the `rejected` store. */
  rejected: { id: number; topic: string; error: EdgelogError }[];
}

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

interface OutboxSchema extends DBSchema {
  entries: { key: number; value: OutboxEntry };
  rejected: { key: number; value: RejectedEntry };
  state: { key: string; value: OutboxState };
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

const STATE = "producer";
const SEQUENCE_WRAP = 0x80000000;
/** How many of the oldest entries a drain looks at to build one batch. */
const WINDOW = 10_000;
const localLocks = new Map<string, Promise<void>>();
const tp = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const emptyState = (): OutboxState => ({ identity: null, sequences: {}, inflight: null });

/** Converts a record (as the producer encodes it) to its stored form. */
export function toStoredRecord(record: RecordInput, partition?: number): StoredRecord {
  const stored: StoredRecord = {
    key: record.key === null ? null : toBase64(record.key),
    value: record.value === null ? null : toBase64(record.value),
    headers: (record.headers ?? []).map((h) => [h.key, h.value === null ? null : toBase64(h.value)]),
    timestamp: record.timestamp ?? Date.now(),
  };
  if (partition !== undefined) stored.partition = partition;
  return stored;
}

export function fromStoredRecord(stored: StoredRecord): RecordInput {
  return {
    key: stored.key === null ? null : fromBase64(stored.key),
    value: stored.value === null ? null : fromBase64(stored.value),
    headers: stored.headers.map(([key, value]) => ({ key, value: value === null ? null : fromBase64(value) })),
    timestamp: stored.timestamp,
  };
}

export class Outbox {
  readonly name: string;
  #db: IDBPDatabase<OutboxSchema>;

  private constructor(name: string, db: IDBPDatabase<OutboxSchema>) {
    this.name = name;
    this.#db = db;
  }

  /** Opens (or creates) the outbox database "edgelog-outbox-<name>". */
  static async open(name = "default"): Promise<Outbox> {
    if (typeof name !== "string" || name.length === 0) throw new TypeError("the outbox name must be a non-empty string");
    const db = await openDB<OutboxSchema>(`edgelog-outbox-${name}`, 1, {
      upgrade(database) {
        database.createObjectStore("entries", { keyPath: "id", autoIncrement: true });
        database.createObjectStore("rejected", { keyPath: "id" });
        database.createObjectStore("state");
      },
    });
    return new Outbox(name, db);
  }

  /** Appends records of one topic in one transaction; answers their ids (the send order). */
  async append(topic: string, records: StoredRecord[]): Promise<number[]> {
    const tx = this.#db.transaction("entries", "readwrite");
    const enqueuedAt = Date.now();
    // The id is the store's to assign (keyPath + autoIncrement).
    const adds = records.map((record) => tx.store.add({ topic, record, enqueuedAt } as OutboxEntry));
    const [ids] = await Promise.all([Promise.all(adds), tx.done]);
    return ids;
  }

  /** The oldest entries first. */
  entries(limit?: number): Promise<OutboxEntry[]> {
    return this.#db.getAll("entries", undefined, limit);
  }

  size(): Promise<number> {
    return this.#db.count("entries");
  }

  rejected(): Promise<RejectedEntry[]> {
    return this.#db.getAll("rejected");
  }

  async clearRejected(): Promise<void> {
    await this.#db.clear("rejected");
  }

  close(): void {
    this.#db.close();
  }

  // The steps of a drain (drainOutbox), each one transaction.

  /** Runs `fn` holding this outbox's drain lock (a Web Lock when there is one). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const name = `edgelog-outbox-${this.name}`;
    const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    if (locks) return locks.request(name, fn);
    const previous = localLocks.get(name) ?? Promise.resolve();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const mine = previous.then(() => released);
    localLocks.set(name, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (localLocks.get(name) === mine) localLocks.delete(name);
    }
  }

  async state(): Promise<OutboxState> {
    return (await this.#db.get("state", STATE)) ?? emptyState();
  }

  async get(ids: number[]): Promise<(OutboxEntry | undefined)[]> {
    const tx = this.#db.transaction("entries");
    const [entries] = await Promise.all([Promise.all(ids.map((id) => tx.store.get(id))), tx.done]);
    return entries;
  }

  /** Numbers a batch with `identity` and the partition's next sequence, and records it as in flight. */
  async assign(identity: Identity, topic: string, partition: number, ids: number[]): Promise<InflightBatch> {
    const tx = this.#db.transaction("state", "readwrite");
    const state = (await tx.store.get(STATE)) ?? emptyState();
    const same = state.identity?.producerId === identity.producerId && state.identity.producerEpoch === identity.producerEpoch;
    const sequences = same ? { ...state.sequences } : {};
    const baseSequence = sequences[tp(topic, partition)] ?? 0;
    sequences[tp(topic, partition)] = (baseSequence + ids.length) % SEQUENCE_WRAP;
    const inflight: InflightBatch = { ...identity, topic, partition, ids, baseSequence };
    await tx.store.put({ identity: { ...identity }, sequences, inflight }, STATE);
    await tx.done;
    return inflight;
  }

  /** The batch was acknowledged: its entries leave the outbox. */
  async acknowledge(batch: InflightBatch): Promise<void> {
    const tx = this.#db.transaction(["entries", "state"], "readwrite");
    const state = (await tx.objectStore("state").get(STATE)) ?? emptyState();
    for (const id of batch.ids) await tx.objectStore("entries").delete(id);
    await tx.objectStore("state").put({ ...state, inflight: null }, STATE);
    await tx.done;
  }

  /** The batch was refused before it was stored: it is no longer in flight and its sequence numbers are free again. */
  async unassign(batch: InflightBatch): Promise<void> {
    const tx = this.#db.transaction("state", "readwrite");
    await tx.store.put(rewound((await tx.store.get(STATE)) ?? emptyState(), batch), STATE);
    await tx.done;
  }

  /** Moves entries the server refused for good to `rejected` (and frees their batch's sequence numbers). */
  async reject(entries: OutboxEntry[], error: EdgelogError, batch?: InflightBatch): Promise<void> {
    const tx = this.#db.transaction(["entries", "rejected", "state"], "readwrite");
    const rejectedAt = Date.now();
    for (const entry of entries) {
      await tx.objectStore("rejected").put({ ...entry, error: { code: error.code, message: error.message }, rejectedAt });
      await tx.objectStore("entries").delete(entry.id);
    }
    if (batch) await tx.objectStore("state").put(rewound((await tx.objectStore("state").get(STATE)) ?? emptyState(), batch), STATE);
    await tx.done;
  }

  /** Forgets the producer id: the next batch asks for a new one and numbers from 0. */
  async resetIdentity(): Promise<void> {
    await this.#db.put("state", emptyState(), STATE);
  }
}

function rewound(state: OutboxState, batch: InflightBatch): OutboxState {
  return { ...state, sequences: { ...state.sequences, [tp(batch.topic, batch.partition)]: batch.baseSequence }, inflight: null };
}

/**
 * Refusals that are the entries' own fault: sending them again can never succeed, so they move to
 * `rejected`. Any other failure (no answer, a 5xx, throttling, a bad token) leaves them in the
 * outbox, and a batch in flight stays in flight, to be resent as it is.
 */
const ENTRY_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "MESSAGE_TOO_LARGE",
  "INVALID_RECORD",
  "INVALID_TIMESTAMP",
  "CORRUPT_MESSAGE",
  "UNKNOWN_TOPIC_OR_PARTITION",
  "INVALID_TOPIC_EXCEPTION",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
]);

function isEntryFault(err: unknown): err is EdgelogError {
  return err instanceof EdgelogError && ENTRY_FAULTS.has(err.code);
}

/**
 * Sends the outbox, one batch at a time, oldest entry first, under the outbox's lock. Entries of
 * one partition keep their order. Rejects when the server cannot be reached (what is in flight
 * stays in flight, for the next drain to resend as it is).
 */
export function drainOutbox(outbox: Outbox, channel: OutboxChannel): Promise<DrainResult> {
  return outbox.exclusive(() => new Drain(outbox, channel).run());
}

class Drain {
  #outbox: Outbox;
  #channel: OutboxChannel;
  #result: DrainResult = { sent: [], rejected: [] };
  /** Per partition, the most records a batch may hold after a MESSAGE_TOO_LARGE refusal. */
  #caps = new Map<string, number>();
  #resets = 0;

  constructor(outbox: Outbox, channel: OutboxChannel) {
    this.#outbox = outbox;
    this.#channel = channel;
  }

  async run(): Promise<DrainResult> {
    for (;;) {
      const { inflight } = await this.#outbox.state();
      const batch = inflight ? await this.#resume(inflight) : await this.#plan();
      if (batch === "empty") return this.#result;
      if (batch) await this.#send(batch.inflight, batch.entries);
    }
  }

  /** The batch a previous drain stored as in flight, exactly as it was. */
  async #resume(inflight: InflightBatch): Promise<{ inflight: InflightBatch; entries: OutboxEntry[] } | null> {
    const entries = await this.#outbox.get(inflight.ids);
    if (entries.every((e) => e !== undefined)) return { inflight, entries: entries as OutboxEntry[] };
    // Removed behind the drain's back: whether the batch was stored is unknown, so its sequence
    // numbers can never be reused; a new producer id numbers from 0.
    await this.#outbox.resetIdentity();
    return null;
  }

  /** The next batch: the oldest entry and the following ones of its partition, numbered and stored as in flight. */
  async #plan(): Promise<{ inflight: InflightBatch; entries: OutboxEntry[] } | "empty" | null> {
    const window = await this.#outbox.entries(WINDOW);
    if (window.length === 0) return "empty";
    const topic = window[0].topic;
    const candidates = window.filter((e) => e.topic === topic);
    let info: TopicInfo;
    try {
      info = await this.#channel.topic(topic);
      const beyond = (n: number) => candidates.filter((e) => e.record.partition !== undefined && e.record.partition >= n);
      if (beyond(info.partitions).length > 0) info = await this.#channel.topic(topic, true); // it may have grown
      const missing = beyond(info.partitions);
      if (missing.length > 0) {
        await this.#reject(missing, new EdgelogError("UNKNOWN_TOPIC_OR_PARTITION", `topic "${topic}" has ${info.partitions} partitions`));
        return null;
      }
    } catch (err) {
      if (!isEntryFault(err)) throw err;
      await this.#reject(candidates, err); // no such topic (or an invalid name)
      return null;
    }
    const partitionOf = (e: OutboxEntry, record: RecordInput) => e.record.partition ?? this.#channel.partitionOf(topic, record.key, info.partitions);
    const partition = partitionOf(candidates[0], fromStoredRecord(candidates[0].record));
    const limits = this.#channel.limits(info);
    const cap = Math.min(limits.records, this.#caps.get(tp(topic, partition)) ?? Infinity);
    const chosen: OutboxEntry[] = [];
    let bytes = 0;
    for (const entry of candidates) {
      if (chosen.length >= cap) break;
      if (entry.record.partition !== undefined && entry.record.partition !== partition) continue;
      const record = fromStoredRecord(entry.record);
      if (partitionOf(entry, record) !== partition) continue;
      const size = this.#channel.sizeOf(record);
      if (chosen.length > 0 && bytes + size > limits.bytes) break;
      chosen.push(entry);
      bytes += size;
    }
    const identity = (await this.#outbox.state()).identity ?? (await this.#channel.newIdentity());
    const inflight = await this.#outbox.assign(identity, topic, partition, chosen.map((e) => e.id));
    this.#channel.sealed(topic, partition, info.partitions);
    return { inflight, entries: chosen };
  }

  async #send(inflight: InflightBatch, entries: OutboxEntry[]): Promise<void> {
    const { topic, partition, producerId, producerEpoch, baseSequence } = inflight;
    const bytes = await this.#channel.encode(entries.map((e) => fromStoredRecord(e.record)), { producerId, producerEpoch }, baseSequence);
    let answer: { baseOffset: number; duplicate: boolean };
    try {
      answer = await this.#channel.post(topic, partition, bytes);
    } catch (err) {
      const code = err instanceof EdgelogError ? err.code : null;
      if (code === "OUT_OF_ORDER_SEQUENCE_NUMBER" || code === "PRODUCER_FENCED") {
        // The partition no longer knows this producer (idle for 24 hours): start over with a new id.
        if (++this.#resets > 2) throw err;
        await this.#outbox.resetIdentity();
        return;
      }
      if (code === "MESSAGE_TOO_LARGE" && entries.length > 1) {
        this.#caps.set(tp(topic, partition), Math.ceil(entries.length / 2));
        await this.#channel.topic(topic, true).catch(() => {});
        await this.#outbox.unassign(inflight);
        return;
      }
      if (!isEntryFault(err)) throw err;
      await this.#reject(entries, err, inflight);
      return;
    }
    await this.#outbox.acknowledge(inflight);
    this.#resets = 0;
    entries.forEach((e, i) => this.#result.sent.push({ id: e.id, topic, partition, offset: answer.baseOffset + i, duplicate: answer.duplicate }));
  }

  async #reject(entries: OutboxEntry[], error: EdgelogError, batch?: InflightBatch): Promise<void> {
    await this.#outbox.reject(entries, error, batch);
    for (const e of entries) this.#result.rejected.push({ id: e.id, topic: e.topic, error });
  }
}
