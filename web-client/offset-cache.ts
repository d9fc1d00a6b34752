/**
 * Consumed offsets cached in IndexedDB (with `idb`), so a reloaded page resumes where it left off
 * even before its group commit is known, and an administrator's reset still wins.
 *
 * Each entry is keyed by group, topic and partition and holds the next offset to read and the
 * `resetId` of the group's offsets it was last reconciled with. On start, `resume()` picks:
 *   - the group's committed offset, when the group was reset since the cache was written
 *     (its resetId is newer: an administrator moved the group on purpose);
 *   - otherwise the newer of the two (the cache may be ahead of a commit that did not land).
 *
 * @example
 * const cache = await OffsetCache.open();
 * await cache.put("billing", { topic: "sensors", partition: 0 }, { offset: 42, resetId: 0 });
 * const start = OffsetCache.resume(await cache.get("billing", tp), committed);
 */
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { topicPartitionKey } from "../protocol/wire";

export interface CachedOffset {
  /** The next offset to read. */
  offset: number;
  /** The group's reset id the offset belongs to (0: never reset). */
  resetId: number;
}

interface OffsetSchema extends DBSchema {
  offsets: { key: string; value: CachedOffset & { group: string; topic: string; partition: number; updatedAt: number } };
}

/** group, NUL, then the topic-partition key: "billing\u0000sensors\u00000". Stored keys, so frozen. */
const key = (group: string, topic: string, partition: number) => `${group}\u0000${topicPartitionKey(topic, partition)}`;

export class OffsetCache {
  #db: IDBPDatabase<OffsetSchema>;

  private constructor(db: IDBPDatabase<OffsetSchema>) {
    this.#db = db;
  }

  /** Opens (or creates) the cache database. `indexedDB` may be passed (e.g. fake-indexeddb in Node). */
  static async open(name = "edgelog-offsets"): Promise<OffsetCache> {
    const db = await openDB<OffsetSchema>(name, 1, {
      upgrade(database) {
        database.createObjectStore("offsets");
      },
    });
    return new OffsetCache(db);
  }

  async get(group: string, tp: { topic: string; partition: number }): Promise<CachedOffset | undefined> {
    const entry = await this.#db.get("offsets", key(group, tp.topic, tp.partition));
    return entry ? { offset: entry.offset, resetId: entry.resetId } : undefined;
  }

  /** Stores the next offset to read; never moves an entry backwards within one reset id. */
  async put(group: string, tp: { topic: string; partition: number }, value: CachedOffset): Promise<void> {
    const k = key(group, tp.topic, tp.partition);
    const tx = this.#db.transaction("offsets", "readwrite");
    const current = await tx.store.get(k);
    if (!current || value.resetId > current.resetId || (value.resetId === current.resetId && value.offset > current.offset)) {
      await tx.store.put({ ...value, group, topic: tp.topic, partition: tp.partition, updatedAt: Date.now() }, k);
    }
    await tx.done;
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Where to start a partition: the committed offset after an administrator's reset the cache
   * has not seen, else the newer of cache and commit; undefined when neither exists.
   */
  static resume(cached: CachedOffset | undefined, committed: CachedOffset | undefined): CachedOffset | undefined {
    if (!cached) return committed;
    if (!committed) return cached;
    if (committed.resetId > cached.resetId) return committed;
    return cached.offset >= committed.offset ? { offset: cached.offset, resetId: committed.resetId } : committed;
  }
}
