/**
 * Each isolate's view of the access state: the Access object's snapshot, cached.
 *
 * Asking the one Access object on every request would make it the bottleneck of the service
 * (as the metadata cache avoids for the controller), so each isolate keeps the snapshot for
 * ACCESS_STALENESS_MS and then asks for anything newer (one small RPC; the answer is null when
 * nothing changed). An isolate that changes the state itself drops its copy at once. So a
 * revoked key, a removed ACL or a new quota takes effect on every isolate within
 * ACCESS_STALENESS_MS; the open sockets that a change ends are closed by their objects, which
 * re-check on the same clock (within SOCKET_RECHECK_MS more).
 */
import { QUOTA_KEYS, type Quotas } from "../../protocol/api/access";
import type { Env } from "../env";
import { Authorizer } from "./authorizer";
import type { AccessSnapshot } from "./store";

/** How stale an isolate's access state may be. */
export const ACCESS_STALENESS_MS = 5_000;
/** How often an object holding sockets re-checks them against the access state. */
export const SOCKET_RECHECK_MS = 5_000;

export class AccessView {
  readonly version: number;
  readonly authorizer: Authorizer;
  #keys: Map<string, { principal: string; hash: string }>;
  #quotas: Map<string, Quotas>;

  constructor(snapshot: AccessSnapshot) {
    this.version = snapshot.version;
    this.authorizer = new Authorizer(snapshot.acls);
    this.#keys = new Map(snapshot.keys.map((k) => [k.keyId, { principal: k.principal, hash: k.hash }]));
    this.#quotas = new Map(snapshot.quotas.map((q) => [q.entity, q.quotas]));
  }

  key(keyId: string): { principal: string; hash: string } | undefined {
    return this.#keys.get(keyId);
  }

  /** A principal's quotas, key by key: its own, else the default entity's; a missing key is unlimited. */
  quotasOf(principal: string): Quotas {
    const own = this.#quotas.get(principal);
    const fallback = this.#quotas.get("default");
    if (!own && !fallback) return {};
    const out: Quotas = {};
    for (const k of QUOTA_KEYS) {
      const v = own?.[k] ?? fallback?.[k];
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
}

/** The cluster's one Access object. */
export function accessObject(env: Env) {
  return env.ACCESS.get(env.ACCESS.idFromName("cluster"));
}

let cached: { view: AccessView; until: number } | null = null;

/**
 * The access state, at most ACCESS_STALENESS_MS old.
 *
 * Only the answer is shared between requests, never a call in flight: a request that awaited a
 * promise another request's I/O resolves would go on in that request's context, and workerd
 * refuses that ("Cannot perform I/O on behalf of a different request"), or hangs the request once
 * the other has ended. So each request that finds the copy stale asks for itself; the answer to
 * all but the first is a cheap null (nothing changed since the version it names).
 */
export async function accessView(env: Env): Promise<AccessView> {
  if (cached && cached.until > Date.now()) return cached.view;
  const known = cached?.view;
  const asked = forgotten;
  const fresh = await accessObject(env).snapshot(known?.version ?? -1);
  const view = fresh ? new AccessView(fresh) : known!;
  // Kept unless this isolate changed the state meanwhile (the answer may predate the change), or
  // another request kept a newer one.
  if (asked === forgotten && !(cached && cached.view.version > view.version)) {
    cached = { view, until: Date.now() + ACCESS_STALENESS_MS };
  }
  return view;
}

/** How many times this isolate dropped its copy: an answer asked for before a drop is not kept. */
let forgotten = 0;

/** Drops this isolate's copy (after it changed the access state itself). */
export function forgetAccess(): void {
  cached = null;
  forgotten++;
}
