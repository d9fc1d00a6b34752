/**
 * What a group session keeps in its SQLite, so that it survives hibernation and restarts: whose
 * session it is, the member's last answer (generation, assignment, the partitions being revoked),
 * and where each started partition is (the next offset to send on the current socket).
 *
 * A socket's attachment holds only its id, its options and its credit (a few dozen bytes); an
 * assignment of hundreds of partitions would not fit the 2 KB an attachment may hold.
 */
import type { TopicPartition } from "../group/assignors";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  revoked INTEGER NOT NULL,
  position INTEGER,
  PRIMARY KEY (topic, partition)
);
`;

export interface SessionMeta {
  group: string;
  memberId: string;
  generation: number;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  /** When the client was told of the revocation it has not released yet (null: none pending). */
  revokedAt: number | null;
  /** The id of the newest socket (the only one records go to). */
  socketId: number;
  /** When the newest socket closed (null while it is open). */
  closedAt: number | null;
}

export interface StoredPartition extends TopicPartition {
  /** Taken away, waiting for the client's release. */
  revoked: boolean;
  /** The next offset to send on the current socket; null until the client starts it. */
  position: number | null;
}

const DEFAULTS: SessionMeta = {
  group: "",
  memberId: "",
  generation: 0,
  heartbeatIntervalMs: 3_000,
  sessionTimeoutMs: 45_000,
  revokedAt: null,
  socketId: 0,
  closedAt: null,
};

export class SessionStore {
  #storage: DurableObjectStorage;
  #schema = false;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** The tables, created on first use (so a wiped session stays empty until it is used again). */
  get #sql(): SqlStorage {
    if (!this.#schema) {
      this.#storage.sql.exec(SCHEMA);
      this.#schema = true;
    }
    return this.#storage.sql;
  }

  /** True once the tables exist (reading a session never used must not create them). */
  get #used(): boolean {
    if (this.#schema) return true;
    return this.#storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").toArray().length > 0;
  }

  meta(): SessionMeta {
    if (!this.#used) return { ...DEFAULTS };
    const rows = this.#sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray();
    const stored = Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value)]));
    return { ...DEFAULTS, ...stored };
  }

  setMeta(changes: Partial<SessionMeta>): void {
    for (const [key, value] of Object.entries(changes)) {
      this.#sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, JSON.stringify(value));
    }
  }

  partitions(): StoredPartition[] {
    if (!this.#used) return [];
    return this.#sql
      .exec<{ topic: string; partition: number; revoked: number; position: number | null }>(
        "SELECT topic, partition, revoked, position FROM partitions ORDER BY topic, partition",
      )
      .toArray()
      .map((r) => ({ topic: r.topic, partition: r.partition, revoked: r.revoked === 1, position: r.position }));
  }

  /** Replaces the partitions (assigned and revoked) in one transaction. */
  setPartitions(partitions: StoredPartition[]): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM partitions");
      for (const p of partitions) {
        this.#sql.exec(
          "INSERT INTO partitions (topic, partition, revoked, position) VALUES (?, ?, ?, ?)",
          p.topic,
          p.partition,
          p.revoked ? 1 : 0,
          p.position,
        );
      }
    });
  }

  setPosition(tp: TopicPartition, position: number | null): void {
    this.#sql.exec("UPDATE partitions SET position = ? WHERE topic = ? AND partition = ?", position, tp.topic, tp.partition);
  }

  /** A new socket: nothing is started on it yet. */
  clearPositions(): void {
    this.#sql.exec("UPDATE partitions SET position = NULL");
  }

  /** Forgets everything (the member is gone, or its socket has been closed for a session timeout). */
  async wipe(): Promise<void> {
    await this.#storage.deleteAlarm();
    await this.#storage.deleteAll();
    this.#schema = false;
  }
}
