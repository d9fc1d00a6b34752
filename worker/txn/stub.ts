/** The transaction coordinator of a transactional id (one object per id, named by it). */
import type { Env } from "../env";

export function txnCoordinator(env: Env, transactionalId: string) {
  return env.TXN.get(env.TXN.idFromName(transactionalId));
}
