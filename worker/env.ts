/**
 * The bindings the worker and its Durable Objects receive (see wrangler.toml).
 */
import type { Access } from "./access/access-do";
import type { Quota } from "./access/quota-do";
import type { Controller } from "./controller/controller-do";
import type { Group } from "./group/group-do";
import type { Partition } from "./partition/partition-do";
import type { GroupSession } from "./session/session-do";
import type { TransactionCoordinator } from "./txn/coordinator-do";

export interface Env {
  CONTROLLER: DurableObjectNamespace<Controller>;
  PARTITION: DurableObjectNamespace<Partition>;
  GROUP: DurableObjectNamespace<Group>;
  /** One group session per member with a group subscription, named "<group>/<memberId>". */
  SESSION: DurableObjectNamespace<GroupSession>;
  /** The cluster's API keys, ACLs and quotas (one object, named "cluster"). */
  ACCESS: DurableObjectNamespace<Access>;
  /** One quota meter per principal with quotas, named "quota/<principal>". */
  QUOTA: DurableObjectNamespace<Quota>;
  /** One transaction coordinator per transactional id, named by it. */
  TXN: DurableObjectNamespace<TransactionCoordinator>;
  /** The bootstrap superuser's bearer token (User:admin). With no credential configured at all, auth is off (local development). */
  EDGELOG_TOKEN?: string;
  /** More superuser principals, comma-separated. */
  EDGELOG_SUPERUSERS?: string;
  /** HS256 key of short-lived tokens. */
  EDGELOG_JWT_SECRET?: string;
  /** ES256/RS256 public keys of short-lived tokens: a JWKS or an array of JWKs. */
  EDGELOG_JWT_PUBLIC_KEYS?: string;
  /** A JWKS to fetch the public keys from. */
  EDGELOG_JWKS_URL?: string;
  /** When set, a token's aud must include it. */
  EDGELOG_JWT_AUDIENCE?: string;
  /** When set, a token's iss must equal it. */
  EDGELOG_JWT_ISSUER?: string;
  /** Origins allowed cross-origin (CORS and WebSocket upgrades), comma-separated. */
  EDGELOG_CORS_ORIGINS?: string;
  /** Comma-separated locationHints replicas are placed in (default: wnam,enam,weur,eeur,apac,oc). */
  EDGELOG_REGIONS?: string;
  /**
   * "on" enables the fault-injection switch (tests only: vitest.config.ts sets it). Anything else,
   * and in every deployed configuration, the switch does not exist: its route answers 404.
   */
  EDGELOG_FAULT_INJECTION?: string;
}

declare global {
  namespace Cloudflare {
    interface Env {
      CONTROLLER: DurableObjectNamespace<Controller>;
      PARTITION: DurableObjectNamespace<Partition>;
      GROUP: DurableObjectNamespace<Group>;
      SESSION: DurableObjectNamespace<GroupSession>;
      ACCESS: DurableObjectNamespace<Access>;
      QUOTA: DurableObjectNamespace<Quota>;
      TXN: DurableObjectNamespace<TransactionCoordinator>;
      EDGELOG_TOKEN?: string;
      EDGELOG_SUPERUSERS?: string;
      EDGELOG_JWT_SECRET?: string;
      EDGELOG_JWT_PUBLIC_KEYS?: string;
      EDGELOG_JWKS_URL?: string;
      EDGELOG_JWT_AUDIENCE?: string;
      EDGELOG_JWT_ISSUER?: string;
      EDGELOG_CORS_ORIGINS?: string;
      EDGELOG_REGIONS?: string;
      EDGELOG_FAULT_INJECTION?: string;
    }
  }
}
