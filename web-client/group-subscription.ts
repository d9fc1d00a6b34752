/**
 * A group member's subscription over one WebSocket: every partition the member is assigned,
 * following reassignment, surviving dropped connections. The server side (frames, close codes,
 * the handover) is documented in worker/session/frames.ts.
 *
 * Frames are handled one at a time, in the order they arrive, except that an assignment frame
 * goes ahead of the records frames still waiting (as Kafka's poll() handles a revocation before
 * the records it has buffered). A revocation waits only for the batch in hand, never for a
 * backlog the credit lets grow to a whole window: behind one, the session's release deadline
 * (worker/session/membership.ts) would pass and the partition move without the commit, to be
 * read again by its new owner. Records left waiting of a revoked partition are the new owner's
 * to read from the commit; per partition, records keep their order.
 *   - an assignment frame goes to `onAssignment`, which gives up the revoked partitions (commits
 *     what it processed) and says where each partition new to this connection starts; then this
 *     sends "released" (when something was revoked), so the group hands those partitions on, and
 *     "start";
 *   - a records frame goes to `onRecords`; once it returns, the frame's records and bytes are
 *     owed back as credit, so the server never has more than `window` in flight. Credit is
 *     granted back once half a window is owed (as TCP's window updates), not after every frame:
 *     small grants would have the server read and send a few records at a time.
 * When the connection drops it reconnects with jittered exponential backoff; the server sends the
 * assignment again, and `onAssignment` restates every position (the offset after the last record
 * handled): nothing is skipped, nothing handed over twice. The member's session heartbeats for it
 * while the socket is open, so a hidden tab whose timers are throttled keeps its partitions.
 *
 * It ends (`onEnd`) when the member is gone (4025 UNKNOWN_MEMBER_ID, 4082 FENCED_INSTANCE_ID),
 * another connection took the member over (4009), close() was called, or no connection ever
 * opened after `maxFailedConnects` tries (GROUP_CLOSE.unreachable: fall back to HTTP polling).
 *
 * @example
 * const sub = new GroupSubscription({ url: "http://127.0.0.1:8787", groupId: "billing", memberId,
 *   onAssignment: ({ fresh }) => fresh.map(({ topic, partition, committed }) => ({ topic, partition, offset: committed ?? undefined })),
 *   onRecords: ({ topic, partition, records }) => records.forEach((r) => console.log(topic, partition, r.offset)),
 *   onEnd: ({ code }) => console.log("ended", code) });
 * sub.start();
 */
import type { JsonRecord } from "../protocol/json-record";
import {
  CLIENT_END,
  GROUP_SOCKET_CLOSE,
  tpKey,
  type AssignedPartition,
  type AssignmentFrame,
  type GroupClientFrame,
  type GroupServerFrame,
  type TopicPartition,
} from "../protocol/wire";
import { Backoff, type BackoffOptions } from "./backoff";
import type { WebSocketLike } from "./subscription";

export type { AssignedPartition, TopicPartition } from "../protocol/wire";

/**
 * The group socket's close codes (protocol/wire/close-codes.ts), and the two this client reports
 * to onEnd for reasons of its own: `unreachable` (no connection opened after `maxFailedConnects`
 * tries) and `handlerFailed` (onAssignment, onRecords or onReset threw; onEnd has its error).
 */
export const GROUP_CLOSE = { ...GROUP_SOCKET_CLOSE, ...CLIENT_END } as const;

export interface Assignment {
  generation: number;
  assignment: AssignedPartition[];
  /** Taken away: commit what was processed of them before resolving onAssignment. */
  revoked: TopicPartition[];
  /** The assigned partitions not started on this connection yet: onAssignment says where they start. */
  fresh: AssignedPartition[];
}

export interface GroupRecords extends TopicPartition {
  generation: number;
  records: JsonRecord[];
  nextOffset: number;
  highWatermark: number;
}

export interface GroupSubscriptionOptions {
  /** The worker's base URL (http or https; the socket uses ws or wss). */
  url: string;
  /** An API key or minted token (mintToken), sent as ?access_token=: browsers cannot set headers on a WebSocket. */
  token?: string;
  groupId: string;
  memberId: string;
  /** Where a partition without a committed offset (or out of range) starts on the server (default earliest). */
  autoOffsetReset?: "earliest" | "latest";
  /** Kafka's isolation.level (default "read_uncommitted"): "read_committed" gets committed transactions only. */
  isolation?: "read_uncommitted" | "read_committed";
  onAssignment(assignment: Assignment): Promise<(TopicPartition & { offset?: number })[]> | (TopicPartition & { offset?: number })[];
  onRecords(batch: GroupRecords): Promise<void> | void;
  /** A partition's position was out of range: the server reads on from `offset`. */
  onReset?(reset: TopicPartition & { from: number; offset: number }): Promise<void> | void;
  /** A frame this client sent was refused (worth logging: the server keeps serving). */
  onError?(error: { code: string; message: string }): void;
  /** The subscription ended for good (see the codes above; 1000: close(); 1011: a handler threw `error`). */
  onEnd?(reason: { code: number; message: string; error?: unknown }): void;
  WebSocket?: new (url: string) => WebSocketLike;
  /** Reconnect backoff: first delay and ceiling in ms (default 100 and 10,000). */
  backoff?: BackoffOptions;
  /** Before any connection opened: give up after this many tries (default: never). */
  maxFailedConnects?: number;
  /** Credit: records and bytes the server may have sent ahead of the handler (default 20,000 and 8 MiB). */
  window?: { records?: number; bytes?: number };
  /** Keep-alive pings, so idle proxies do not cut the socket (default every 30 s; 0: none). */
  pingIntervalMs?: number;
}

export class GroupSubscription {
  #options: GroupSubscriptionOptions;
  #socket: WebSocketLike | null = null;
  #closed = false;
  #backoff: Backoff;
  #failedConnects = 0;
  #queue: Promise<void> = Promise.resolve();
  /** How many connections opened: 1 after the first. */
  connections = 0;

  constructor(options: GroupSubscriptionOptions) {
    if (!options.groupId || !options.memberId) throw new TypeError("groupId and memberId are required");
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
  }

  start(): void {
    this.#connect();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close(1000, "done");
    this.#options.onEnd?.({ code: 1000, message: "closed by the client" });
  }

  #connect(): void {
    if (this.#closed) return;
    const { url, token, groupId, memberId, autoOffsetReset, isolation } = this.#options;
    const wsUrl = new URL(
      `/v1/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(memberId)}/subscribe`,
      url.replace(/^http/, "ws"),
    );
    if (autoOffsetReset) wsUrl.searchParams.set("autoOffsetReset", autoOffsetReset);
    if (isolation) wsUrl.searchParams.set("isolation", isolation);
    if (token) wsUrl.searchParams.set("access_token", token);
    const Ctor = this.#options.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => WebSocketLike);
    let socket: WebSocketLike;
    try {
      socket = new Ctor(wsUrl.toString());
    } catch (err) {
      // Runs from a timer on reconnects: a constructor that throws must not escape to the host.
      return this.#end(GROUP_CLOSE.unreachable, `no WebSocket could be created: ${String(err)}`, err);
    }
    this.#socket = socket;
    /** The partitions started on this connection. */
    const started = new Set<string>();
    /** Frames received and not handled yet, assignment frames first. */
    const waiting: Exclude<GroupServerFrame, { type: "error" | "pong" }>[] = [];
    const send = (frame: GroupClientFrame) => socket.readyState === 1 && socket.send(JSON.stringify(frame));
    const current = () => this.#socket === socket && !this.#closed;
    let opened = false;
    let ping: ReturnType<typeof setInterval> | undefined;
    const window = { records: this.#options.window?.records ?? 20_000, bytes: this.#options.window?.bytes ?? 8 * 1024 * 1024 };
    const owed = { records: 0, bytes: 0 };
    socket.addEventListener("open", () => {
      opened = true;
      this.connections++;
      this.#backoff.reset();
      this.#failedConnects = 0;
      send({ type: "credit", records: window.records, bytes: window.bytes });
      const every = this.#options.pingIntervalMs ?? 30_000;
      if (every > 0) ping = setInterval(() => send({ type: "ping" }), every);
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let frame: GroupServerFrame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return this.#options.onError?.({ code: "CORRUPT_MESSAGE", message: `a frame that is not JSON: ${event.data.slice(0, 100)}` });
      }
      if (frame.type === "error") return this.#options.onError?.(frame.error);
      if (frame.type === "pong") return;
      // An assignment frame goes ahead of the records frames still waiting, after the earlier
      // assignment frames (see the module header).
      const firstNotAssignment = waiting.findIndex((f) => f.type !== "assignment");
      if (frame.type === "assignment" && firstNotAssignment !== -1) waiting.splice(firstNotAssignment, 0, frame);
      else waiting.push(frame);
      // One step per frame received; each handles the first frame waiting.
      this.#queue = this.#queue
        .then(async () => {
          const frame = waiting.shift();
          if (!current() || !frame) return;
          if (frame.type === "assignment") {
            const a: AssignmentFrame = frame;
            const assigned = new Set(a.assignment.map(tpKey));
            for (const k of [...started]) if (!assigned.has(k)) started.delete(k);
            const starts = await this.#options.onAssignment({ ...a, fresh: a.assignment.filter((p) => !started.has(tpKey(p))) });
            if (!current()) return;
            if (a.revoked.length > 0) send({ type: "released", generation: a.generation });
            if (starts.length > 0) send({ type: "start", partitions: starts });
            for (const p of starts) started.add(tpKey(p));
          } else if (frame.type === "records") {
            const batch = frame;
            await this.#options.onRecords(batch);
            owed.records += batch.records.length;
            owed.bytes += batch.bytes;
            // With less than half a window owed, the server still holds more than half of it.
            if (owed.records * 2 >= window.records || owed.bytes * 2 >= window.bytes) {
              send({ type: "credit", records: owed.records, bytes: owed.bytes });
              owed.records = owed.bytes = 0;
            }
          } else if (frame.type === "reset") {
            await this.#options.onReset?.(frame);
          }
        })
        .catch((err) => {
          // A handler that throws ends the subscription: the caller decides what comes next.
          this.#end(GROUP_CLOSE.handlerFailed, `a handler failed: ${String(err)}`, err);
        });
    });
    socket.addEventListener("close", (event) => {
      clearInterval(ping);
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (this.#closed) return;
      const code = event.code ?? 1006;
      if (
        code === GROUP_CLOSE.unknownMember ||
        code === GROUP_CLOSE.fenced ||
        code === GROUP_CLOSE.replaced ||
        code === GROUP_CLOSE.accessRevoked
      ) {
        return this.#end(code, event.reason || `closed by the server with ${code}`);
      }
      if (!opened && this.connections === 0 && ++this.#failedConnects >= (this.#options.maxFailedConnects ?? Infinity)) {
        return this.#end(GROUP_CLOSE.unreachable, `no connection after ${this.#failedConnects} attempts`);
      }
      // Reconnect once the frames already received are handled: the positions are then final.
      this.#queue = this.#queue.then(() => this.#reconnectLater());
    });
    socket.addEventListener("error", () => {
      // "close" follows and decides.
    });
  }

  #end(code: number, message: string, error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket?.close(1000, "done");
    this.#options.onEnd?.({ code, message, ...(error === undefined ? {} : { error }) });
  }

  #reconnectLater(): void {
    setTimeout(() => this.#connect(), this.#backoff.next());
  }
}
