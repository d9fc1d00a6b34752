/**
 * Where replicas live. Replica ids are indexes into the region list (a "broker" per region), so
 * a partition's replicas are in distinct regions by construction: partition p's replicas are the
 * r regions starting at p, round the list, spreading leaders as Kafka's rack-aware assignment does.
 */
import { EdgelogError } from "../../protocol/errors";
import type { Env } from "../env";

/** Durable Object locationHints, in the order replicas are placed. */
export const DEFAULT_REGIONS = ["wnam", "enam", "weur", "eeur", "apac", "oc"] as const;

/** The configured regions (EDGELOG_REGIONS, comma-separated), or the defaults. */
export function regionsOf(env: Pick<Env, "EDGELOG_REGIONS">): string[] {
  const configured = (env.EDGELOG_REGIONS ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  return configured.length > 0 ? configured : [...DEFAULT_REGIONS];
}

/**
 * Replica ids for a partition.
 *
 * @example
 * placeReplicas(1, 2, 6) // [1, 2]
 */
export function placeReplicas(partition: number, replicationFactor: number, regionCount: number): number[] {
  if (replicationFactor > regionCount) {
    throw new EdgelogError(
      "INVALID_REPLICATION_FACTOR",
      `replication factor ${replicationFactor} is larger than the ${regionCount} regions available`,
    );
  }
  return Array.from({ length: replicationFactor }, (_, i) => (partition + i) % regionCount);
}

/** The name of a partition replica's Durable Object. A new topic id means new, empty objects. */
export function replicaName(topicId: string, partition: number, replica: number): string {
  return `${topicId}/${partition}/${replica}`;
}

/** The stub of a partition replica, placed in its region. */
export function replicaStub(env: Env, topicId: string, partition: number, replica: number) {
  const regions = regionsOf(env);
  const locationHint = regions[replica % regions.length] as DurableObjectLocationHint;
  return env.PARTITION.get(env.PARTITION.idFromName(replicaName(topicId, partition, replica)), { locationHint });
}

/** Which locationHints serve readers on each continent (as request.cf.continent names them), nearest first. */
const NEAR: Record<string, string[]> = {
  NA: ["wnam", "enam"],
  SA: ["enam", "wnam"],
  EU: ["weur", "eeur"],
  AF: ["weur", "eeur"],
  AS: ["apac", "eeur"],
  OC: ["oc", "apac"],
  AN: ["oc"],
};

/**
 * The replica a reader should fetch from (KIP-392): the one in `region`, or, with
 * region "nearest", the one nearest the reader's continent. Null means the leader.
 *
 * @example
 * preferredReplica(["wnam", "enam", "weur"], [0, 1, 2], "weur") // 2
 * preferredReplica(["wnam", "enam", "weur"], [0, 1, 2], "nearest", "EU") // 2
 */
export function preferredReplica(regions: string[], replicas: number[], region: string, continent?: string): number | null {
  const wanted = region === "nearest" ? (continent ? (NEAR[continent] ?? []) : []) : [region];
  for (const hint of wanted) {
    const replica = replicas.find((r) => regions[r % regions.length] === hint);
    if (replica !== undefined) return replica;
  }
  return null;
}
