/**
 * Per-topic configuration: Kafka's names, Kafka's defaults, validated as Kafka validates them.
 *
 * One table (TOPIC_CONFIG) gives each key its bounds and default; the request schema (partial,
 * numbers or their decimal strings, as Kafka's tools send them), the answer schema and the
 * defaults all come from it. The controller stores the config with the topic and each partition
 * object enforces it (retention by its alarm, max.message.bytes and min.insync.replicas on append).
 */
import { z } from "zod";
import { coded } from "./schema";

/** A SQLite row (where batches live) holds at most 2 MB: the ceiling for max.message.bytes. */
export const MAX_MESSAGE_BYTES_CEILING = 2_000_000;

const integer = (min: number, max: number, fallback: number, description: string) =>
  ({ kind: "integer", min, max, default: fallback, description }) as const;

/** Every topic config key: bounds, default and meaning. */
export const TOPIC_CONFIG = {
  "retention.ms": integer(
    -1,
    Number.MAX_SAFE_INTEGER,
    604_800_000,
    "Batches whose newest timestamp is older than this are deleted; -1 keeps them forever",
  ),
  "retention.bytes": integer(
    -1,
    Number.MAX_SAFE_INTEGER,
    -1,
    "The log is trimmed (oldest batches first) while it stays above this size; -1 = no limit",
  ),
  "max.message.bytes": integer(0, MAX_MESSAGE_BYTES_CEILING, 1_048_588, "The largest record batch a producer may append, in bytes"),
  "cleanup.policy": {
    kind: "enum",
    values: ["delete", "compact", "compact,delete"],
    default: "delete",
    description:
      '"delete": retention.ms and retention.bytes remove old batches; "compact": only the latest record of each key is kept (keyless records are refused); "compact,delete": both',
  },
  "min.cleanable.dirty.ratio": {
    kind: "number",
    min: 0,
    max: 1,
    default: 0.5,
    description: "Compaction runs when the not-yet-compacted part of the log is at least this share of it (by bytes)",
  },
  "min.compaction.lag.ms": integer(0, Number.MAX_SAFE_INTEGER, 0, "Records younger than this are never compacted"),
  "max.compaction.lag.ms": integer(
    1,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
    "Records older than this are compacted even when the dirty ratio is below min.cleanable.dirty.ratio",
  ),
  "delete.retention.ms": integer(
    0,
    Number.MAX_SAFE_INTEGER,
    86_400_000,
    "On a compacted topic, a tombstone (null value) is kept this long after compaction first reaches it, then removed",
  ),
  "min.insync.replicas": integer(
    1,
    Number.MAX_SAFE_INTEGER,
    1,
    "acks=all appends are refused (NOT_ENOUGH_REPLICAS) when fewer replicas are in sync",
  ),
  "replica.lag.time.max.ms": integer(
    100,
    3_600_000,
    30_000,
    "A follower that has not caught up with the leader's log end for this long leaves the in-sync set; acks=all writes wait for it at most this long",
  ),
  "unclean.leader.election.enable": {
    kind: "boolean",
    default: false,
    description: "Whether a replica outside the in-sync set may become leader (losing acknowledged writes)",
  },
} as const;

type Table = typeof TOPIC_CONFIG;
type ValueOf<E> = E extends { kind: "integer" | "number" }
  ? number
  : E extends { kind: "boolean" }
    ? boolean
    : E extends { values: readonly (infer V)[] }
      ? V
      : never;

/** A topic's full configuration. */
export type TopicConfig = { -readonly [K in keyof Table]: ValueOf<Table[K]> };

/** The defaults of every key. */
export const DEFAULT_TOPIC_CONFIG = Object.fromEntries(Object.entries(TOPIC_CONFIG).map(([k, e]) => [k, e.default])) as TopicConfig;

const DECIMAL = /^-?\d{1,16}$/;
const RATIO = /^\d{1,3}(\.\d{1,16})?$/;

/** A value as a request may give it: a JSON number or boolean, or its text. */
function inputValue(e: Table[keyof Table]): z.ZodType {
  if (e.kind === "integer") {
    const range = z.int().min(e.min).max(e.max);
    return z.union([range, z.string().regex(DECIMAL).transform(Number).pipe(range)]).meta({ description: e.description });
  }
  if (e.kind === "number") {
    const range = z.number().min(e.min).max(e.max);
    return z.union([range, z.string().regex(RATIO).transform(Number).pipe(range)]).meta({ description: e.description });
  }
  if (e.kind === "boolean")
    return z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]).meta({ description: e.description });
  return z.enum(e.values).meta({ description: e.description });
}

/** A value as answers give it. */
function outputValue(e: Table[keyof Table]): z.ZodType {
  if (e.kind === "integer") return z.int().min(e.min).max(e.max).meta({ description: e.description, default: e.default });
  if (e.kind === "number") return z.number().min(e.min).max(e.max).meta({ description: e.description, default: e.default });
  if (e.kind === "boolean") return z.boolean().meta({ description: e.description, default: e.default });
  return z.enum(e.values).meta({ description: e.description, default: e.default });
}

const keys = Object.keys(TOPIC_CONFIG) as (keyof Table)[];

/** Changes to a config: any subset of the keys; unknown keys and bad values are INVALID_CONFIG. */
export const TopicConfigChanges = coded(
  z
    .strictObject(
      Object.fromEntries(keys.map((k) => [k, inputValue(TOPIC_CONFIG[k]).optional()])) as Record<keyof Table, z.ZodOptional<z.ZodType>>,
    )
    .meta({
      id: "TopicConfigChanges",
      description: "Topic settings to change (numbers may also be given as decimal strings, as Kafka's tools send them)",
    }),
  "INVALID_CONFIG",
) as unknown as z.ZodType<Partial<TopicConfig>, Record<string, unknown>>;

/** A topic's configuration as answers give it. */
export const TopicConfigSchema = z
  .strictObject(Object.fromEntries(keys.map((k) => [k, outputValue(TOPIC_CONFIG[k])])) as Record<keyof Table, z.ZodType>)
  .meta({ id: "TopicConfig" }) as unknown as z.ZodType<TopicConfig>;
