/**
 * Kafka's authorizer (AclAuthorizer/StandardAuthorizer), as a pure function of the ACL bindings.
 *
 * A principal may perform an operation on a resource when
 *   - it is a superuser, or
 *   - no deny binding matches (the operation itself or All), and an allow binding matches: the
 *     operation, All, or one that implies it (Describe is implied by Read, Write, Delete and
 *     Alter; DescribeConfigs by AlterConfigs), as in Kafka;
 * and, for a token narrowed by its `acl` claim, the claim allows it too (so a token can never do
 * more than its principal). A binding matches when its principal is the principal or "User:*",
 * and its pattern covers the resource: literal (the name, or "*" for every name) or prefixed.
 * Internal topics (names starting with "__", like __audit) are for superusers only: no binding
 * opens them to anyone else. With no binding that allows it, an operation is denied.
 */
import type { AclBinding, Operation, ResourceType, TokenScope } from "../../protocol/api/access";
import { type ErrorCode, EdgelogError } from "../../protocol/errors";

/** Who is asking, and how far their credential reaches. */
export interface Grant {
  principal: string;
  superuser: boolean;
  /** How the principal authenticated. "open": no auth is configured (local development). */
  via: "open" | "token" | "key" | "jwt";
  /** The API key used (so revoking it ends what it opened). */
  keyId?: string;
  /** A token's expiry (epoch ms): what it opened ends then. */
  expiresAt?: number;
  /** A token's `acl` claim: it can do no more than this. */
  scope?: TokenScope;
}

/** One thing a request needs: an operation on a resource. */
export interface Need {
  resourceType: ResourceType;
  name: string;
  operation: Operation;
}

const IMPLIED_BY: Partial<Record<Operation, readonly Operation[]>> = {
  Describe: ["Read", "Write", "Delete", "Alter"],
  DescribeConfigs: ["AlterConfigs"],
};

/** Whether a binding's operation allows `op` (the operation, All, or one that implies it). */
function allowsOp(bound: Operation, op: Operation): boolean {
  return bound === op || bound === "All" || (IMPLIED_BY[op]?.includes(bound) ?? false);
}

function covers(pattern: { resourceType: ResourceType; resourceName: string; patternType: string }, need: Need): boolean {
  if (pattern.resourceType !== need.resourceType) return false;
  if (pattern.patternType === "prefixed") return need.name.startsWith(pattern.resourceName);
  return pattern.resourceName === need.name || pattern.resourceName === "*";
}

export const isInternalTopic = (name: string): boolean => name.startsWith("__");

/** Kafka's code for a refused operation, by the resource it is on. */
export const REFUSAL_CODES = {
  topic: "TOPIC_AUTHORIZATION_FAILED",
  group: "GROUP_AUTHORIZATION_FAILED",
  cluster: "CLUSTER_AUTHORIZATION_FAILED",
  transactionalId: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
} as const satisfies Record<ResourceType, ErrorCode>;

/** The refusal (403) for a need that is not allowed; it names the resource, which the caller gave. */
export function refusalFor(need: Need): EdgelogError {
  const what = need.resourceType === "cluster" ? "the cluster" : `${need.resourceType} "${need.name}"`;
  return new EdgelogError(REFUSAL_CODES[need.resourceType], `not authorized: ${need.operation} on ${what}`);
}

/** The bindings, indexed by principal, with a cache of decisions for this set. */
export class Authorizer {
  #byPrincipal = new Map<string, AclBinding[]>();
  #decisions = new Map<string, boolean>();

  constructor(acls: readonly AclBinding[]) {
    for (const acl of acls) {
      const list = this.#byPrincipal.get(acl.principal) ?? [];
      list.push(acl);
      this.#byPrincipal.set(acl.principal, list);
    }
  }

  /** Whether `grant` may do what `need` says. */
  allowed(grant: Grant, need: Need): boolean {
    if (grant.scope && !grant.scope.some((s) => covers(s, need) && s.operations.some((op) => allowsOp(op, need.operation)))) {
      return false;
    }
    if (grant.superuser) return true;
    if (need.resourceType === "topic" && isInternalTopic(need.name)) return false;
    const key = `${grant.principal}\u0000${need.resourceType}\u0000${need.name}\u0000${need.operation}`;
    let decision = this.#decisions.get(key);
    if (decision === undefined) {
      decision = this.#decide(grant.principal, need);
      if (this.#decisions.size > 50_000) this.#decisions.clear();
      this.#decisions.set(key, decision);
    }
    return decision;
  }

  /** Whether some binding allows `operation` on some resource of the type (Kafka's authorizeByResourceType). */
  allowedOnAny(grant: Grant, resourceType: ResourceType, operation: Operation): boolean {
    if (grant.superuser && !grant.scope) return true;
    if (grant.scope && !grant.scope.some((s) => s.resourceType === resourceType && s.operations.some((op) => allowsOp(op, operation)))) {
      return false;
    }
    if (grant.superuser) return true;
    const bindings = this.#bindingsOf(grant.principal);
    return bindings.some(
      (b) =>
        b.permission === "allow" &&
        b.resourceType === resourceType &&
        allowsOp(b.operation, operation) &&
        // A literal allow is only as good as the absence of a deny on that same resource.
        !(b.patternType === "literal" && this.#denied(bindings, { resourceType, name: b.resourceName, operation })),
    );
  }

  #bindingsOf(principal: string): AclBinding[] {
    return [...(this.#byPrincipal.get(principal) ?? []), ...(principal === "User:*" ? [] : (this.#byPrincipal.get("User:*") ?? []))];
  }

  #denied(bindings: readonly AclBinding[], need: Need): boolean {
    return bindings.some((b) => b.permission === "deny" && covers(b, need) && (b.operation === need.operation || b.operation === "All"));
  }

  #decide(principal: string, need: Need): boolean {
    const bindings = this.#bindingsOf(principal);
    if (this.#denied(bindings, need)) return false;
    return bindings.some((b) => b.permission === "allow" && covers(b, need) && allowsOp(b.operation, need.operation));
  }
}

/** Whether a binding matches a filter (every field given must be equal). */
export function matchesFilter(b: AclBinding, f: Partial<AclBinding>): boolean {
  return (
    (f.principal === undefined || f.principal === b.principal) &&
    (f.resourceType === undefined || f.resourceType === b.resourceType) &&
    (f.resourceName === undefined || f.resourceName === b.resourceName) &&
    (f.patternType === undefined || f.patternType === b.patternType) &&
    (f.operation === undefined || f.operation === b.operation) &&
    (f.permission === undefined || f.permission === b.permission)
  );
}
