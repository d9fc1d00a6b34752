/**
 * Per-topic configuration: Kafka's names, Kafka's defaults, validated as Kafka validates them.
 *
 * Stored with the topic in the controller and copied into each partition object, which enforces
 * it (retention by its alarm, max.message.bytes and min.insync.replicas on append).
 */
import { EdgelogError } from "../../protocol/errors";

export interface TopicConfig {
  /** Batches whose newest timestamp is older than this are deleted; -1 keeps them forever. */
  "retention.ms": number;
  /** The log is trimmed (oldest batches first) while it stays above this size; -1 = no limit. */
  "retention.bytes": number;
  /** The largest record batch a producer may append, in bytes. */
  "max.message.bytes": number;
  /** Only "delete" (compaction is not built). */
  "cleanup.policy": "delete";
  /** acks=all appends are refused (NOT_ENOUGH_REPLICAS) when fewer replicas are in sync. */
  "min.insync.replicas": number;
  /**
   * A follower that has not caught up with the leader's log end for this long (failed, or too
   * slow) leaves the in-sync set; acks=all writes wait for it at most this long.
   */
  "replica.lag.time.max.ms": number;
  /** Whether a replica outside the in-sync set may become leader (losing acknowledged writes). */
  "unclean.leader.election.enable": boolean;
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  "retention.ms": 604_800_000,
  "retention.bytes": -1,
  "max.message.bytes": 1_048_588,
  "cleanup.policy": "delete",
  "min.insync.replicas": 1,
  "replica.lag.time.max.ms": 30_000,
  "unclean.leader.election.enable": false,
};

/** A SQLite row (where batches live) holds at most 2 MB: the ceiling for max.message.bytes. */
export const MAX_MESSAGE_BYTES_CEILING = 2_000_000;

type Rule = (value: unknown) => number | string | boolean;

const integerAtLeast = (key: string, min: number, max = Number.MAX_SAFE_INTEGER): Rule => (value) => {
  const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new EdgelogError("INVALID_CONFIG", `${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
};

const RULES: Record<keyof TopicConfig, Rule> = {
  "retention.ms": integerAtLeast("retention.ms", -1),
  "retention.bytes": integerAtLeast("retention.bytes", -1),
  "max.message.bytes": integerAtLeast("max.message.bytes", 0, MAX_MESSAGE_BYTES_CEILING),
  "cleanup.policy": (value) => {
    if (value !== "delete") {
      throw new EdgelogError("INVALID_CONFIG", `cleanup.policy must be "delete" (compaction is not supported), got ${JSON.stringify(value)}`);
    }
    return value;
  },
  "min.insync.replicas": integerAtLeast("min.insync.replicas", 1),
  "replica.lag.time.max.ms": integerAtLeast("replica.lag.time.max.ms", 100, 3_600_000),
  "unclean.leader.election.enable": (value) => {
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    throw new EdgelogError("INVALID_CONFIG", `unclean.leader.election.enable must be true or false, got ${JSON.stringify(value)}`);
  },
};

/**
 * Validates a partial config (unknown keys and bad values are INVALID_CONFIG) and merges it
 * over `base`. Values may be numbers or their decimal strings, as Kafka's tools send them.
 *
 * @example
 * resolveTopicConfig({ "retention.ms": "3600000" }) // { ...DEFAULT_TOPIC_CONFIG, "retention.ms": 3600000 }
 */
export function resolveTopicConfig(changes: unknown, base: TopicConfig = DEFAULT_TOPIC_CONFIG): TopicConfig {
  if (changes === undefined || changes === null) return { ...base };
  if (typeof changes !== "object" || Array.isArray(changes)) {
    throw new EdgelogError("INVALID_CONFIG", "config must be an object of Kafka topic settings");
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    // Own keys only: "toString" or "__proto__" must not find Object.prototype's members.
    const rule = Object.hasOwn(RULES, key) ? RULES[key as keyof TopicConfig] : undefined;
    if (!rule) {
      throw new EdgelogError("INVALID_CONFIG", `unknown topic config "${key}"; known: ${Object.keys(RULES).join(", ")}`);
    }
    out[key] = rule(value);
  }
  return out as unknown as TopicConfig;
}
