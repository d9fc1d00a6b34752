/**
 * Reads near the reader (KIP-392): `?region=<locationHint>|nearest` picks the replica a fetch
 * reads from. A follower serves only what is below its own high watermark, and the leader
 * answers what it cannot. The regions are configuration (EDGELOG_REGIONS), so they are checked here.
 */
import { EdgelogError } from "../../../protocol/errors";
import { preferredReplica, regionsOf } from "../../controller/placement";
import type { TopicMetadata } from "../../controller/registry";
import type { Env } from "../../env";

/** The replica a fetch prefers, or undefined for the leader. */
export function readReplica(
  env: Env,
  topic: TopicMetadata,
  partition: number,
  region: string | undefined,
  request: Request,
): number | undefined {
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
