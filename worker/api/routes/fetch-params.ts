/**
 * The query parameters every fetch shares (JSON and binary):
 *   offset      the first offset wanted (default 0)
 *   maxRecords  at most this many records (JSON: exact; binary: whole batches up to it)
 *   maxBytes    at most about this many bytes (the first batch is always whole)
 *   maxWaitMs   long-poll: wait up to this long for data at the offset (default 0: answer at once)
 *   minBytes    long-poll: wait until at least this many bytes are there (default 1)
 *   region      read from the replica in this region (a locationHint), or "nearest" to the reader
 *               (by request.cf.continent); default: the leader. A follower serves only what is below
 *               its own high watermark, and the leader answers what it cannot (KIP-392).
 */
import { EdgelogError } from "../../../protocol/errors";
import { preferredReplica, regionsOf } from "../../controller/placement";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";
import { LIMITS } from "../../../protocol/limits";
import { intParam } from "../http/params";
import type { FetchRequest } from "../../partition/types";

export function fetchParams(query: (name: string) => string | undefined, { defaultMaxRecords = LIMITS.defaultMaxRecords as number } = {}): FetchRequest {
  return {
    offset: offsetParam(query("offset")),
    maxRecords: intParam(query("maxRecords"), "maxRecords", { min: 1, max: Math.max(LIMITS.maxRecords, defaultMaxRecords), fallback: defaultMaxRecords }),
    maxBytes: intParam(query("maxBytes"), "maxBytes", { min: 1, max: LIMITS.maxBytes, fallback: LIMITS.defaultMaxBytes, code: "INVALID_FETCH_SIZE" }),
    maxWaitMs: intParam(query("maxWaitMs"), "maxWaitMs", { min: 0, max: LIMITS.maxWaitMs, fallback: 0 }),
    minBytes: intParam(query("minBytes"), "minBytes", { min: 0, max: LIMITS.maxBytes, fallback: 1 }),
  };
}

/** An offset: malformed is INVALID_REQUEST; a negative number is out of range, as in Kafka. */
export function offsetParam(raw: string | undefined): number {
  const offset = intParam(raw, "offset", { min: Number.MIN_SAFE_INTEGER, fallback: 0 });
  if (offset < 0) throw new EdgelogError("OFFSET_OUT_OF_RANGE", `offset ${offset} is negative`);
  return offset;
}

/** A partition number from the path. */
export function partitionParam(raw: string): number {
  return intParam(raw, "partition", { min: 0, max: 1_000_000 });
}

/** The replica a fetch prefers (see `region` above), or undefined for the leader. */
export function readReplica(env: Env, topic: TopicMetadata, partition: number, region: string | undefined, request: Request): number | undefined {
  if (region === undefined) return undefined;
  const regions = regionsOf(env);
  if (region !== "nearest" && !regions.includes(region)) {
    throw new EdgelogError("INVALID_REQUEST", `region must be "nearest" or one of ${regions.join(", ")}, got ${JSON.stringify(region)}`);
  }
  const p = topic.partitions[partition];
  if (!p) return undefined;
  const continent = (request as Request & { cf?: { continent?: string } }).cf?.continent;
  return preferredReplica(regions, p.replicas, region, continent) ?? undefined;
}
