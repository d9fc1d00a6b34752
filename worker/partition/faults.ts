/**
 * Fault injection, for tests only: makes one replica unreachable, slow, or crash in the middle
 * of an append, so replication and failover can be tested where every object runs in one
 * process (miniflare).
 *
 * It exists only when the configuration sets EDGELOG_FAULT_INJECTION = "on" (vitest.config.ts
 * does, for the test run; wrangler.toml never does): otherwise the route answers 404 and the
 * object refuses the RPC. A fault is stored with the object, so it outlives a restart, as a
 * failed machine would.
 *
 *   unreachable       every call into the replica throws, as calls into a reset object do
 *   slow              every call waits `delayMs` first
 *   crash-mid-append  the next append is written locally, then the replica "crashes" before
 *                     replicating or answering (and stays unreachable): the classic divergent
 *                     suffix that leader-epoch truncation must remove
 *   none              heals the replica
 */
import { EdgelogError } from "../../protocol/errors";

export type Fault = { kind: "none" } | { kind: "unreachable" } | { kind: "slow"; delayMs: number } | { kind: "crash-mid-append" };

export { FAULT_KINDS, MAX_FAULT_DELAY_MS } from "../../protocol/api/admin";

const STORAGE_KEY = "fault";

export function faultInjectionEnabled(env: { EDGELOG_FAULT_INJECTION?: string }): boolean {
  return env.EDGELOG_FAULT_INJECTION === "on";
}

/** The error a call into an "unreachable" replica throws: what callers see of a reset object. */
function unreachable(): Error {
  const err = new Error("Durable Object reset because its code was updated or it failed (edgelog fault injection: replica unreachable)");
  (err as Error & { retryable: boolean }).retryable = true;
  return err;
}

export class Faults {
  #storage: DurableObjectStorage;
  #enabled: boolean;
  #fault: Fault = { kind: "none" };

  constructor(storage: DurableObjectStorage, enabled: boolean) {
    this.#storage = storage;
    this.#enabled = enabled;
  }

  /** Loads the stored fault (call in the object's blockConcurrencyWhile). */
  async load(): Promise<void> {
    if (!this.#enabled) return;
    this.#fault = ((await this.#storage.get<Fault>(STORAGE_KEY)) ?? { kind: "none" }) as Fault;
  }

  get current(): Fault {
    return this.#fault;
  }

  /** False while calls into this replica fail. */
  get healthy(): boolean {
    return this.#fault.kind !== "unreachable";
  }

  async set(fault: Fault): Promise<void> {
    if (!this.#enabled) throw new EdgelogError("UNSUPPORTED_VERSION", 'fault injection is off (EDGELOG_FAULT_INJECTION is not "on")');
    await this.#storage.put(STORAGE_KEY, fault);
    this.#fault = fault;
  }

  /** Called first by every RPC: throws while unreachable, waits while slow. */
  async gate(): Promise<void> {
    if (this.#fault.kind === "unreachable") throw unreachable();
    if (this.#fault.kind === "slow") await new Promise((resolve) => setTimeout(resolve, (this.#fault as { delayMs: number }).delayMs));
  }

  /** Called after an append's local write: a crash-mid-append fault strikes here. */
  async afterLocalWrite(): Promise<void> {
    if (this.#fault.kind !== "crash-mid-append") return;
    await this.set({ kind: "unreachable" });
    throw unreachable();
  }
}
