/**
 * The Access Durable Object: one per cluster (named "cluster"), the durable home of API keys,
 * ACL bindings and client quotas (store.ts). Workers and other objects never ask it per
 * request: they cache its snapshot for ACCESS_STALENESS_MS (snapshot.ts) and ask only whether
 * a newer version exists.
 *
 * An API key's secret is made here, shown once in the answer, and stored only as its SHA-256
 * hash: the secret is 32 random bytes, so a fast hash is enough (there is nothing to guess).
 */
import { DurableObject } from "cloudflare:workers";
import type { AclBinding, AclFilter, Quotas } from "../../protocol/api/access";
import { toBase64Url } from "../../protocol/base64";
import type { Env } from "../env";
import { attempt, type Outcome } from "../outcome";
import { type AccessSnapshot, AccessStore, type QuotaEntry, type StoredKey } from "./store";

/** The prefix of every API key's secret: "elk_<keyId>_<secret>", so a key is found by its id. */
export const KEY_PREFIX = "elk_";

export class Access extends DurableObject<Env> {
  #store: AccessStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new AccessStore(ctx.storage.sql);
  }

  /** The state newer than `version` (null when there is nothing newer). */
  snapshot(version = -1): AccessSnapshot | null {
    if (this.#store.version === version) return null;
    return this.#store.snapshot();
  }

  async createKey(principal: string, description: string | null): Promise<Omit<StoredKey, "hash"> & { secret: string }> {
    const keyId = hex(crypto.getRandomValues(new Uint8Array(8)));
    const secret = `${KEY_PREFIX}${keyId}_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
    const key: StoredKey = { keyId, principal, description, createdAt: Date.now(), hash: await sha256Hex(secret) };
    this.#store.addKey(key);
    return { keyId, principal, description, createdAt: key.createdAt, secret };
  }

  listKeys(): Omit<StoredKey, "hash">[] {
    return this.#store.keys().map(({ hash: _hash, ...info }) => info);
  }

  revokeKey(keyId: string): Outcome<Omit<StoredKey, "hash">> {
    return attempt(() => {
      const { hash: _hash, ...info } = this.#store.removeKey(keyId);
      return info;
    });
  }

  createAcl(binding: AclBinding): AclBinding {
    this.#store.addAcl(binding);
    return binding;
  }

  listAcls(filter: AclFilter): AclBinding[] {
    return this.#store.acls(filter);
  }

  deleteAcls(filter: AclFilter): AclBinding[] {
    return this.#store.removeAcls(filter);
  }

  setQuotas(entity: string, quotas: Quotas): QuotaEntry {
    return this.#store.setQuotas(entity, quotas);
  }

  listQuotas(): QuotaEntry[] {
    return this.#store.quotas();
  }

  deleteQuotas(entity: string): Outcome<{ entity: string }> {
    return attempt(() => {
      this.#store.removeQuotas(entity);
      return { entity };
    });
  }
}

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
