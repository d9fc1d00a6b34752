/**
 * The consumer's options, their defaults and their checks.
 */
import type { IsolationLevel } from "../../protocol/isolation";
import type { JsonRecord } from "../../protocol/json-record";
import type { TopicPartition } from "../group-subscription";
import type { HttpOptions } from "../http";
import type { OffsetCache } from "../offset-cache";
import type { SubscriptionOptions } from "../subscription";

export interface ConsumerOptions extends HttpOptions {
  groupId: string;
  topics: string[];
  /** Static membership: a member that comes back with the same id within its session timeout keeps its partitions. */
  instanceId?: string;
  sessionTimeoutMs?: number;
  assignor?: "range" | "roundrobin" | "sticky";
  /** Commit after each processed batch (default true). Otherwise call commit() yourself. */
  autoCommit?: boolean;
  /** Where a partition without a committed offset starts (default "earliest"). */
  autoOffsetReset?: "earliest" | "latest";
  /** Bytes per partition fetch (default 1 MiB). */
  maxBytes?: number;
  /** Long-poll wait of a fetch that finds no new records (default 500 ms). */
  maxWaitMs?: number;
  /**
   * Consumed offsets cached in IndexedDB after each processed batch: on start a partition resumes
   * from the newer of the cache and the group's commit (the commit, after an administrator's reset).
   */
  offsetCache?: OffsetCache;
  /**
   * How partitions are read: "websocket", one group socket for all of them (the default where a
   * WebSocket exists: browsers, workers, or a constructor passed as `WebSocket`), or "http"
   * long-polling. The socket falls back to polling when no socket can be opened.
   */
  transport?: "websocket" | "http";
  /**
   * Kafka's isolation.level (default "read_uncommitted"). "read_committed" hands over only the
   * records of committed transactions (and non-transactional ones), never past the last stable
   * offset, over either transport.
   */
  isolation?: IsolationLevel;
  /** A WebSocket constructor, for Node (e.g. the `ws` package). */
  WebSocket?: SubscriptionOptions["WebSocket"];
  /**
   * Told of each error the consumer recovers from by itself, worth logging: a read, heartbeat or
   * connection that failed (the server unreachable or restarting) and is retried. Never told of
   * the aborts the consumer causes itself. An error it cannot recover from rejects run() instead.
   */
  onError?: (error: unknown) => void;
}

export interface ConsumedBatch extends TopicPartition {
  records: JsonRecord[];
  highWatermark: number;
}

export type ResolvedOptions = Required<
  Pick<ConsumerOptions, "groupId" | "topics" | "autoCommit" | "autoOffsetReset" | "maxBytes" | "maxWaitMs">
> &
  ConsumerOptions;

/** The options with their defaults; throws a TypeError for what cannot work. */
export function resolveOptions(options: ConsumerOptions): ResolvedOptions {
  if (!options.groupId) throw new TypeError("groupId is required");
  if (!Array.isArray(options.topics) || options.topics.length === 0) throw new TypeError("topics must be a non-empty array");
  checkIsolation(options.isolation);
  return { autoCommit: true, autoOffsetReset: "earliest", maxBytes: 1 << 20, maxWaitMs: 500, ...options };
}

/** Whether partitions come over the group socket (else HTTP long-polling). */
export function overSocket(options: ResolvedOptions): boolean {
  return options.transport !== "http" && (options.WebSocket ?? globalThis.WebSocket) !== undefined;
}

/** Throws a TypeError unless `isolation` is absent or one of Kafka's two levels. */
export function checkIsolation(isolation: unknown): void {
  if (isolation !== undefined && isolation !== "read_uncommitted" && isolation !== "read_committed") {
    throw new TypeError(`isolation must be "read_uncommitted" or "read_committed", got ${String(isolation)}`);
  }
}
