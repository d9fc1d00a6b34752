/**
 * The outbox store, in IndexedDB (with `idb`). The database "edgelog-outbox-<name>" holds three
 * object stores:
 *   entries   {id, topic, record, enqueuedAt}; the auto-increment id is the send order. A record
 *             is JSON data (stored-record.ts).
 *   state     "producer" -> {identity, sequences, inflight} (state.ts): the outbox's own producer
 *             id and epoch, the next sequence number per partition, and the batch being sent.
 *   rejected  entries the server refused as invalid (a topic or partition that does not exist, a
 *             record too large or invalid): nothing of them was stored. Kept with the error.
 * Each step of a drain (drain.ts) is one transaction.
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import type { EdgelogError, ErrorCode } from "../../protocol/errors";
import type { Identity } from "../producer";
import { withLock } from "./lock";
import { assigned, emptyState, rewound, type InflightBatch, type OutboxState } from "./state";
import type { StoredRecord } from "./stored-record";

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

interface OutboxSchema extends DBSchema {
  entries: { key: number; value: OutboxEntry };
  rejected: { key: number; value: RejectedEntry };
  state: { key: string; value: OutboxState };
}

const STATE = "producer";

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
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(`edgelog-outbox-${this.name}`, fn);
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
    const state = assigned((await tx.store.get(STATE)) ?? emptyState(), identity, topic, partition, ids);
    await tx.store.put(state, STATE);
    await tx.done;
    return state.inflight;
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
