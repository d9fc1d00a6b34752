/**
 * The access state, in the Access object's SQLite: API keys (hashes only), ACL bindings and
 * client quotas, with one version number that every change bumps, so that the isolates caching
 * a snapshot (snapshot.ts) can ask "anything newer than version v?" cheaply.
 */
import { type AclBinding, type AclFilter, QUOTA_KEYS, type Quotas } from "../../protocol/api/access";
import { EdgelogError } from "../../protocol/errors";
import { matchesFilter } from "./authorizer";

export interface StoredKey {
  keyId: string;
  principal: string;
  description: string | null;
  createdAt: number;
  /** Hex SHA-256 of the secret. */
  hash: string;
}

export interface QuotaEntry {
  entity: string;
  quotas: Quotas;
}

/** What isolates cache: enough to authenticate keys, authorize and find quotas. */
export interface AccessSnapshot {
  version: number;
  keys: { keyId: string; principal: string; hash: string }[];
  acls: AclBinding[];
  quotas: QuotaEntry[];
}

export class AccessStore {
  #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`
      CREATE TABLE IF NOT EXISTS access_meta (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
      INSERT OR IGNORE INTO access_meta (id, version) VALUES (1, 0);
      CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, principal TEXT NOT NULL, description TEXT, created_at INTEGER NOT NULL, hash TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS acls (
        principal TEXT NOT NULL, resource_type TEXT NOT NULL, resource_name TEXT NOT NULL, pattern_type TEXT NOT NULL,
        operation TEXT NOT NULL, permission TEXT NOT NULL,
        PRIMARY KEY (principal, resource_type, resource_name, pattern_type, operation, permission)
      );
      CREATE TABLE IF NOT EXISTS quotas (entity TEXT PRIMARY KEY, config TEXT NOT NULL);
    `);
  }

  get version(): number {
    return this.#sql.exec<{ version: number }>("SELECT version FROM access_meta WHERE id = 1").one().version;
  }

  #bump(): void {
    this.#sql.exec("UPDATE access_meta SET version = version + 1 WHERE id = 1");
  }

  addKey(key: StoredKey): void {
    this.#sql.exec(
      "INSERT INTO api_keys (key_id, principal, description, created_at, hash) VALUES (?, ?, ?, ?, ?)",
      key.keyId,
      key.principal,
      key.description,
      key.createdAt,
      key.hash,
    );
    this.#bump();
  }

  keys(): StoredKey[] {
    return this.#sql
      .exec<{ key_id: string; principal: string; description: string | null; created_at: number; hash: string }>(
        "SELECT key_id, principal, description, created_at, hash FROM api_keys ORDER BY created_at, key_id",
      )
      .toArray()
      .map((r) => ({ keyId: r.key_id, principal: r.principal, description: r.description, createdAt: r.created_at, hash: r.hash }));
  }

  /** Removes a key; RESOURCE_NOT_FOUND when there is none. */
  removeKey(keyId: string): StoredKey {
    const key = this.keys().find((k) => k.keyId === keyId);
    if (!key) throw new EdgelogError("RESOURCE_NOT_FOUND", `no API key "${keyId}"`);
    this.#sql.exec("DELETE FROM api_keys WHERE key_id = ?", keyId);
    this.#bump();
    return key;
  }

  /** Adds a binding (an existing one is left as it is); answers whether it was new. */
  addAcl(b: AclBinding): boolean {
    const before = this.#sql.exec("SELECT 1 FROM acls WHERE " + ACL_KEY, ...aclKey(b)).toArray().length;
    if (before > 0) return false;
    this.#sql.exec(
      "INSERT INTO acls (principal, resource_type, resource_name, pattern_type, operation, permission) VALUES (?, ?, ?, ?, ?, ?)",
      ...aclKey(b),
    );
    this.#bump();
    return true;
  }

  acls(filter: AclFilter = {}): AclBinding[] {
    return this.#sql
      .exec<Record<string, string>>(
        "SELECT principal, resource_type, resource_name, pattern_type, operation, permission FROM acls ORDER BY principal, resource_type, resource_name, operation",
      )
      .toArray()
      .map(
        (r) =>
          ({
            principal: r.principal,
            resourceType: r.resource_type,
            resourceName: r.resource_name,
            patternType: r.pattern_type,
            operation: r.operation,
            permission: r.permission,
          }) as AclBinding,
      )
      .filter((b) => matchesFilter(b, filter));
  }

  /** Removes the bindings matching `filter`; answers them. */
  removeAcls(filter: AclFilter): AclBinding[] {
    const doomed = this.acls(filter);
    for (const b of doomed) this.#sql.exec("DELETE FROM acls WHERE " + ACL_KEY, ...aclKey(b));
    if (doomed.length > 0) this.#bump();
    return doomed;
  }

  setQuotas(entity: string, quotas: Quotas): QuotaEntry {
    const clean: Quotas = {};
    for (const k of QUOTA_KEYS) if (quotas[k] !== undefined) clean[k] = quotas[k];
    this.#sql.exec("INSERT OR REPLACE INTO quotas (entity, config) VALUES (?, ?)", entity, JSON.stringify(clean));
    this.#bump();
    return { entity, quotas: clean };
  }

  quotas(): QuotaEntry[] {
    return this.#sql
      .exec<{ entity: string; config: string }>("SELECT entity, config FROM quotas ORDER BY entity")
      .toArray()
      .map((r) => ({ entity: r.entity, quotas: JSON.parse(r.config) as Quotas }));
  }

  /** Removes an entity's quotas; RESOURCE_NOT_FOUND when it has none. */
  removeQuotas(entity: string): void {
    if (!this.quotas().some((q) => q.entity === entity)) throw new EdgelogError("RESOURCE_NOT_FOUND", `no quotas for "${entity}"`);
    this.#sql.exec("DELETE FROM quotas WHERE entity = ?", entity);
    this.#bump();
  }

  snapshot(): AccessSnapshot {
    return {
      version: this.version,
      keys: this.keys().map(({ keyId, principal, hash }) => ({ keyId, principal, hash })),
      acls: this.acls(),
      quotas: this.quotas(),
    };
  }
}

const ACL_KEY = "principal = ? AND resource_type = ? AND resource_name = ? AND pattern_type = ? AND operation = ? AND permission = ?";
const aclKey = (b: AclBinding) => [b.principal, b.resourceType, b.resourceName, b.patternType, b.operation, b.permission];
