/**
 * Access on the partition's push sockets (push.ts): each socket opened with auth on keeps the
 * grant it was opened with and its topic's name in its attachment, and this checks them again
 * every SOCKET_RECHECK_MS while such sockets are open: a revoked key, an expired token or a
 * removed Read ACL closes the socket with 4031 (worker/access/socket-access.ts).
 * (push.ts meters what it sends with meterPush, from the same module.)
 *
 * The re-check runs on a timer, which keeps the object from hibernating while authenticated push
 * sockets are open (an alarm would be shared with the log's jobs; a timer is cheaper to reason
 * about). Unauthenticated sockets (auth off) start no timer and hibernate as before.
 */
import type { Grant } from "../access/authorizer";
import { SOCKET_RECHECK_MS } from "../access/snapshot";
import { socketRefusal } from "../access/socket-access";
import type { Env } from "../env";

/** What a push socket opened with auth on carries: its grant, and the topic it reads. */
export interface PushGrant {
  grant: Grant;
  topic: string;
}

/** The open sockets, each with what it was opened with (undefined: auth off). */
type Sockets = () => { ws: WebSocket; access: PushGrant | undefined }[];

export class PushAccess {
  #env: Env;
  #sockets: Sockets;
  #end: (ws: WebSocket, code: string) => void;
  #timer: ReturnType<typeof setTimeout> | null = null;

  /** `sockets` lists the open sockets with their access; `end` closes one for an access code. */
  constructor(env: Env, sockets: Sockets, end: (ws: WebSocket, code: string) => void) {
    this.#env = env;
    this.#sockets = sockets;
    this.#end = end;
  }

  /** Re-checks the open sockets every SOCKET_RECHECK_MS, as long as some carry a grant. */
  watch(): void {
    if (this.#timer !== null || !this.#sockets().some((s) => s.access)) return;
    this.#timer = setTimeout(async () => {
      try {
        await this.recheck();
      } catch (err) {
        // The access state could not be read: the sockets go on, and the next check tries again.
        console.error("edgelog: push socket access check failed", String(err));
      }
      this.#timer = null;
      this.watch();
    }, SOCKET_RECHECK_MS);
  }

  /** Closes every socket whose grant no longer allows Read on its topic. */
  async recheck(now = Date.now()): Promise<void> {
    for (const { ws, access } of this.#sockets()) {
      if (!access) continue;
      const code = await socketRefusal(this.#env, access.grant, [{ resourceType: "topic", name: access.topic, operation: "Read" }], now);
      if (code) this.#end(ws, code);
    }
  }
}
