/**
 * A partition subscription over WebSocket push, that survives dropped connections.
 *
 * It opens /subscribe at its offset, hands each frame's records to your handler in order, and
 * after the handler returns moves its offset past them. When the connection drops (or the server
 * closes it because it fell too far behind, code 4008) it reconnects with jittered exponential
 * backoff from the offset after the last record handled: nothing is skipped and nothing is handed
 * over twice. Retention removing its offset (4016) resumes at the log start; a deleted topic
 * (4004) ends it. In push mode it acks each frame it handled, which keeps the server's bound from
 * closing a subscriber that keeps up.
 *
 * WebSocket is a Web API in browsers and workers; in Node 20 pass one (e.g. the `ws` package).
 *
 * @example
 * const sub = new Subscription({ url: "http://127.0.0.1:8787", topic: "sensors", partition: 0, offset: 0,
 *   onRecords: async (records) => records.forEach((r) => console.log(r.offset, r.value)) });
 * sub.start();
 * // later: sub.close();
 */
import type { JsonRecord } from "../protocol/json-record";
import {
  CLIENT_END,
  PARTITION_SOCKET_CLOSE,
  type PartitionClientFrame,
  type PartitionCloseReason,
  type PartitionServerFrame,
} from "../protocol/wire";
import { Backoff, type BackoffOptions } from "./backoff";

/**
 * The partition socket's close codes (protocol/wire/close-codes.ts), and the two this client
 * reports to onEnd for reasons of its own: `unreachable` (it gave up after `maxFailedConnects`
 * connections that never opened) and `handlerFailed` (onRecords threw).
 */
export const PUSH_CLOSE = { ...PARTITION_SOCKET_CLOSE, ...CLIENT_END } as const;

export type WebSocketLike = {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
};

export interface SubscriptionOptions {
  /** The worker's base URL (http or https; the socket uses ws or wss). */
  url: string;
  topic: string;
  partition: number;
  /** The first offset to receive. */
  offset: number;
  onRecords(records: JsonRecord[], info: { nextOffset: number; highWatermark: number }): Promise<void> | void;
  /** Told when the subscription ends for good (topic deleted, close(), or onRecords threw: `error`). */
  onEnd?(reason: { code: number; message: string; error?: unknown }): void;
  /** An API key or minted token (mintToken), sent as ?access_token=: browsers cannot set headers on a WebSocket. */
  token?: string;
  /** A WebSocket constructor (default: the global one). */
  WebSocket?: new (
    url: string,
  ) => WebSocketLike;
  /**
   * Kafka's isolation level (default "read_uncommitted"): "read_committed" receives only the
   * records of committed transactions (and non-transactional ones); the server filters.
   */
  isolation?: "read_uncommitted" | "read_committed";
  /** Reconnect backoff: first delay and ceiling in ms (default 100 and 10,000). */
  backoff?: BackoffOptions;
  /** Give up (onEnd with PUSH_CLOSE.unreachable) after this many connections in a row never opened (default: never). */
  maxFailedConnects?: number;
}

export class Subscription {
  #options: SubscriptionOptions;
  #offset: number;
  #socket: WebSocketLike | null = null;
  #closed = false;
  #backoff: Backoff;
  #failedConnects = 0;
  #queue: Promise<void> = Promise.resolve();
  /** How many times a connection was (re)opened: 1 after the first. */
  connections = 0;

  constructor(options: SubscriptionOptions) {
    if (!Number.isSafeInteger(options.offset) || options.offset < 0) throw new TypeError("offset must be a non-negative integer");
    const { isolation } = options;
    if (isolation !== undefined && isolation !== "read_uncommitted" && isolation !== "read_committed") {
      throw new TypeError(`isolation must be "read_uncommitted" or "read_committed", got ${String(isolation)}`);
    }
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
    this.#offset = options.offset;
  }

  /** The next offset to receive (after the last record the handler finished). */
  get offset(): number {
    return this.#offset;
  }

  start(): void {
    this.#connect();
  }

  close(): void {
    this.#end(1000, "closed by the client");
  }

  #connect(): void {
    if (this.#closed) return;
    const { url, topic, partition, token, isolation } = this.#options;
    const wsUrl = new URL(`/v1/topics/${encodeURIComponent(topic)}/partitions/${partition}/subscribe`, url.replace(/^http/, "ws"));
    wsUrl.searchParams.set("offset", String(this.#offset));
    if (isolation) wsUrl.searchParams.set("isolation", isolation);
    if (token) wsUrl.searchParams.set("access_token", token);
    const Ctor = this.#options.WebSocket ?? (globalThis.WebSocket as unknown as new (url: string) => WebSocketLike);
    let socket: WebSocketLike;
    try {
      socket = new Ctor(wsUrl.toString());
    } catch (err) {
      // Runs from a timer on reconnects: a constructor that throws must not escape to the host.
      return this.#end(PUSH_CLOSE.unreachable, `no WebSocket could be created: ${String(err)}`, err);
    }
    this.#socket = socket;
    // Where this connection started: frames of an older connection are ignored.
    const from = { offset: this.#offset };
    let opened = false;
    socket.addEventListener("open", () => {
      opened = true;
      this.connections++;
      this.#backoff.reset();
      this.#failedConnects = 0;
    });
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      let parsed: PartitionServerFrame;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return; // not one of the server's frames
      }
      if (!("records" in parsed)) return; // pong, or an error frame (this client sends only acks)
      const frame = parsed;
      this.#queue = this.#queue
        .then(async () => {
          if (this.#socket !== socket || this.#closed) return;
          const records = frame.records.filter((r) => r.offset >= this.#offset);
          if (records.length > 0)
            await this.#options.onRecords(records, { nextOffset: frame.nextOffset, highWatermark: frame.highWatermark });
          this.#offset = Math.max(this.#offset, frame.nextOffset ?? from.offset);
          if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ack", offset: this.#offset } satisfies PartitionClientFrame));
        })
        .catch((err) => {
          // A handler that throws ends the subscription (the offset stays before its records).
          this.#end(PUSH_CLOSE.handlerFailed, `the handler failed: ${String(err)}`, err);
        });
    });
    socket.addEventListener("close", (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const code = event.code ?? 1006;
      let resume: number | undefined;
      try {
        resume = (JSON.parse(event.reason ?? "") as Partial<PartitionCloseReason>).resumeOffset;
      } catch {
        // not one of the server's JSON reasons
      }
      if (this.#closed) return;
      if (code === PUSH_CLOSE.topicDeleted) return this.#end(code, "the topic was deleted");
      if (code === PUSH_CLOSE.accessRevoked)
        return this.#end(code, `access ended: ${event.reason || "the credential no longer allows it"}`);
      if (!opened && ++this.#failedConnects >= (this.#options.maxFailedConnects ?? Infinity)) {
        return this.#end(PUSH_CLOSE.unreachable, `no connection after ${this.#failedConnects} attempts`);
      }
      // Resume after what the handler finished (pending frames first), or at the log start.
      this.#queue = this.#queue.then(() => {
        if (code === PUSH_CLOSE.offsetOutOfRange && resume !== undefined) this.#offset = resume;
        this.#reconnectLater();
      });
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
