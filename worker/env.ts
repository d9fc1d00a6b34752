/**
 * The bindings the worker and its Durable Objects receive (see wrangler.toml).
 */
import type { Controller } from "./controller/controller-do";
import type { Group } from "./group/group-do";
import type { Partition } from "./partition/partition-do";
import type { GroupSession } from "./session/session-do";

export interface Env {
  CONTROLLER: DurableObjectNamespace<Controller>;
  PARTITION: DurableObjectNamespace<Partition>;
  GROUP: DurableObjectNamespace<Group>;
  /** One group session per member with a group subscription, named "<group>/<memberId>". */
  SESSION: DurableObjectNamespace<GroupSession>;
  /** Bearer token every /v1 route requires; empty or unset = no auth (local development). */
  EDGELOG_TOKEN?: string;
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
      EDGELOG_TOKEN?: string;
      EDGELOG_REGIONS?: string;
      EDGELOG_FAULT_INJECTION?: string;
    }
  }
}
