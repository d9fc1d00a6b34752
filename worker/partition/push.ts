/**
 * WebSocket push from a partition: subscribers get the stored records from their offset, then
 * each new record as it is appended, in order, with no gap and no duplicate.
 *
 * Sockets are accepted with the hibernation API, so an idle subscriber costs nothing; everything
 * a socket needs (its next offset, format, credit) is its attachment (well under 2 KB).
 *
 * Frames (server -> client). Every text frame is a JSON object:
 *   {"records": [...], "nextOffset": n, "highWatermark": n}   records (format=json, the fetch shape)
 *   <binary>                                                   stored RecordBatch v2 bytes (format=binary);
 *                                                              the first batch may start before the offset
 *   {"type": "pong"}                                           answer to {"type": "ping"} (no wake-up)
 *   {"type": "error", "error": {code, message, retriable}}     a client frame was refused
 * Frames (client -> server), all JSON objects:
 *   {"type": "ping"}
 *   {"type": "credit", "records"?: n, "bytes"?: n}   switches the socket to credit mode and grants
 *                                                   more; the server never sends past the credit
 *   {"type": "ack", "offset": n}                    push mode: "I have what precedes n"; resets the
 *                                                   server's bound
 * Flow control: a socket opened with ?mode=credit starts in credit mode with no credit.
 * Otherwise it starts in push mode (records as they come, at least its first 1,000 without
 * sending anything). As workerd cannot see a slow reader's backlog, a push-mode socket
 * that was sent more than PUSH_BOUND (1,000 records and 8 MiB) since its last ack is closed with
 * code 4008 and the offset to resume from, never silently dropped. Pushes never pass the high
 * watermark: with replicas, a record is pushed once every in-sync replica has it. With auth on, a
 * socket's grant is checked again while it is open, and its frames are metered by its principal's
 * consumer_byte_rate (push-access.ts). Close codes are CLOSE below
 * (protocol/wire/close-codes.ts); each close reason is JSON {"code", "resumeOffset"}. The frames'
 * types are protocol/wire/partition-frames.ts.
 */
import { EdgelogError } from "../../protocol/errors";
import { committedBatches, type AbortedTransaction } from "../../protocol/isolation";
import { jsonRecordsFrom } from "../../protocol/json-record";
import { splitBatches } from "../../protocol/record-batch";
import { PARTITION_SOCKET_CLOSE, type PartitionCloseReason, type PartitionRecordsFrame } from "../../protocol/wire";
import type { Env } from "../env";
import type { PartitionLog } from "./log";
import { consumerRate, frameCap, meterPush } from "../access/socket-access";
import { type PushGrant, PushAccess } from "./push-access";

/** The close codes of this socket (protocol/wire/close-codes.ts), by the name partition-do.ts imports. */
export const CLOSE = PARTITION_SOCKET_CLOSE;

/** What a push-mode socket may be sent without acking: both must be exceeded to close it. */
export const PUSH_BOUND = { records: 1_000, bytes: 8 * 1024 * 1024 } as const;
/** The most one frame carries. */
const FRAME = { records: 5_000, bytes: 1024 * 1024 } as const;

export type PushFormat = "json" | "binary";

interface SocketState {
  offset: number;
  format: PushFormat;
  /** isolation=read_committed: up to the last stable offset, aborted transactions' records left out. */
  committed?: boolean;
  credit: boolean;
  /** Whether a credit frame came yet (a socket opened with mode=credit starts without one). */
  granted?: boolean;
  creditRecords: number;
  creditBytes: number;
  sinceAckRecords: number;
  sinceAckBytes: number;
  /** With auth on: the grant it was opened with, and its topic. */
  access?: PushGrant;
  /** Over its principal's consumer_byte_rate: nothing is sent before this time (epoch ms). */
  throttledUntil?: number;
}

export class Push {
  #ctx: DurableObjectState;
  #log: PartitionLog;
  #chain: Promise<void> = Promise.resolve();
  #access: PushAccess;
  #env: Env;

  constructor(ctx: DurableObjectState, log: PartitionLog, env: Env) {
    this.#ctx = ctx;
    this.#log = log;
    this.#env = env;
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
    this.#access = new PushAccess(
      env,
      () => ctx.getWebSockets().map((ws) => ({ ws, access: (ws.deserializeAttachment() as SocketState | null)?.access })),
      (ws, code) => {
        const state = ws.deserializeAttachment() as SocketState | null;
        close(ws, CLOSE.accessRevoked, reason(code, state?.offset ?? 0));
      },
    );
    this.#access.watch(); // sockets that outlived a hibernation are watched again
  }

  /**
   * Accepts a subscription at `offset` (checked against the log) and starts sending; with
   * `credit` it starts in credit mode with no credit, so nothing is sent before the first grant.
   */
  accept(offset: number, format: PushFormat, credit = false, access?: PushGrant, committed = false): Response {
    this.#log.checkOffset(offset);
    const pair = new WebSocketPair();
    const [client, server] = Object.values(pair);
    this.#ctx.acceptWebSocket(server);
    const state: SocketState = {
      offset,
      format,
      credit,
      creditRecords: 0,
      creditBytes: 0,
      sinceAckRecords: 0,
      sinceAckBytes: 0,
      access,
      ...(committed ? { committed } : {}),
    };
    server.serializeAttachment(state);
    this.#access.watch();
    this.#schedule(() => this.#drain(server));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** New records were appended: send them to every subscriber that can take them. */
  appended(): void {
    if (this.#ctx.getWebSockets().length === 0) return;
    this.#schedule(async () => {
      for (const ws of this.#ctx.getWebSockets()) await this.#drain(ws);
    });
  }

  /**
   * A client frame: credit, ack, or something refused with an error frame. It is applied in the
   * push chain, so a drain that is waiting (for a quota) never writes back a state without it.
   */
  message(ws: WebSocket, data: string | ArrayBuffer): void {
    let frame: { type?: unknown; records?: unknown; bytes?: unknown; offset?: unknown };
    try {
      if (typeof data !== "string") throw new Error();
      frame = JSON.parse(data);
      if (typeof frame !== "object" || frame === null) throw new Error();
    } catch {
      return sendError(ws, new EdgelogError("INVALID_REQUEST", "client frames are JSON objects: {type: ping | credit | ack}"));
    }
    const count = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
    let apply: (state: SocketState) => void;
    if (
      frame.type === "credit" &&
      count(frame.records) &&
      count(frame.bytes) &&
      (frame.records !== undefined || frame.bytes !== undefined)
    ) {
      const { records, bytes } = frame as { records?: number; bytes?: number };
      apply = (state) => {
        if (!state.credit || !state.granted) {
          // The first grant: a dimension the client never grants is not limited.
          state.credit = true;
          state.granted = true;
          state.creditRecords = records === undefined ? Infinity : 0;
          state.creditBytes = bytes === undefined ? Infinity : 0;
        }
        state.creditRecords += records ?? 0;
        state.creditBytes += bytes ?? 0;
      };
    } else if (frame.type === "ack" && Number.isSafeInteger(frame.offset)) {
      const acked = frame.offset as number;
      apply = (state) => {
        state.sinceAckRecords = Math.max(0, state.offset - acked);
        state.sinceAckBytes = 0;
      };
    } else {
      return sendError(ws, new EdgelogError("INVALID_REQUEST", `unknown or malformed client frame ${JSON.stringify(data).slice(0, 100)}`));
    }
    this.#schedule(() => {
      const state = ws.deserializeAttachment() as SocketState | null;
      if (!state) return Promise.resolve();
      apply(state);
      ws.serializeAttachment(state);
      return this.#drain(ws);
    });
  }

  /** The topic is gone: every subscriber is told so. */
  closeAll(code: number, why: string): void {
    for (const ws of this.#ctx.getWebSockets()) close(ws, code, why);
  }

  /** This replica stopped leading: every subscriber reconnects, each from its own next offset. */
  moveAll(): void {
    for (const ws of this.#ctx.getWebSockets()) {
      const state = ws.deserializeAttachment() as SocketState | null;
      close(ws, CLOSE.leaderMoved, reason("NOT_LEADER_OR_FOLLOWER", state?.offset ?? 0));
    }
  }

  /** Sends pushes one after another: a socket's frames never overlap or reorder. */
  #schedule(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((err) => console.error("edgelog: push failed", err));
  }

  /** A throttled socket's wait is over: it may be sent to again. */
  #resume(ws: WebSocket): Promise<void> {
    const state = ws.deserializeAttachment() as SocketState | null;
    if (!state || ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    delete state.throttledUntil;
    ws.serializeAttachment(state);
    return this.#drain(ws);
  }

  /** Sends a socket what it may have, frame by frame, until it is caught up or out of credit. */
  async #drain(ws: WebSocket): Promise<void> {
    const state = ws.deserializeAttachment() as SocketState | null;
    if (!state || ws.readyState !== WebSocket.OPEN) return;
    if (state.throttledUntil !== undefined && state.throttledUntil > Date.now()) return; // its timer drains it
    const rate = state.access ? await consumerRate(this.#env, state.access.grant) : undefined;
    const readable = () => (state.committed ? this.#log.txns.lastStableOffset(this.#log.highWatermark) : this.#log.highWatermark);
    while (state.offset < readable()) {
      if (state.credit && (state.creditRecords <= 0 || state.creditBytes <= 0)) break;
      if (!state.credit && state.sinceAckRecords >= PUSH_BOUND.records && state.sinceAckBytes >= PUSH_BOUND.bytes) {
        ws.close(CLOSE.tooFarBehind, reason("SUBSCRIBER_TOO_SLOW", state.offset));
        return;
      }
      let read: ReturnType<PartitionLog["read"]>;
      try {
        const maxRecords = state.credit ? Math.min(FRAME.records, state.creditRecords) : FRAME.records;
        const maxBytes = Math.min(frameCap(rate), state.credit ? Math.min(FRAME.bytes, state.creditBytes) : FRAME.bytes);
        read = this.#log.read(state.offset, maxBytes, maxRecords, state.committed === true);
      } catch (err) {
        if (err instanceof EdgelogError && err.code === "OFFSET_OUT_OF_RANGE") {
          ws.close(CLOSE.offsetOutOfRange, reason("OFFSET_OUT_OF_RANGE", this.#log.logStartOffset));
        } else if (err instanceof EdgelogError && err.code === "UNKNOWN_TOPIC_OR_PARTITION") {
          ws.close(CLOSE.topicDeleted, reason("UNKNOWN_TOPIC_OR_PARTITION", state.offset));
        } else throw err;
        return;
      }
      if (read.nextOffset <= state.offset) break;
      const wait = rate === undefined ? 0 : await meterPush(this.#env, state.access!.grant.principal, rate, read.data.byteLength);
      if (wait > 0) {
        state.throttledUntil = Date.now() + wait;
        ws.serializeAttachment(state);
        setTimeout(() => this.#schedule(() => this.#resume(ws)), wait);
        return;
      }
      let sentRecords = read.nextOffset - state.offset;
      const aborted = state.committed ? (read.abortedTransactions ?? []) : undefined;
      if (state.format === "binary") {
        // read_committed: the aborted transactions' batches are left out here (markers stay, as the log's).
        ws.send(aborted && aborted.length > 0 ? withoutAborted(read.data, aborted) : read.data);
      } else {
        const records = await jsonRecordsFrom(read.data, state.offset, { aborted });
        sentRecords = records.length;
        ws.send(
          JSON.stringify({ records, nextOffset: read.nextOffset, highWatermark: read.highWatermark } satisfies PartitionRecordsFrame),
        );
      }
      state.offset = read.nextOffset;
      state.sinceAckRecords += sentRecords;
      state.sinceAckBytes += read.data.byteLength;
      if (state.credit) {
        state.creditRecords -= sentRecords;
        state.creditBytes -= read.data.byteLength;
      }
      ws.serializeAttachment(state);
    }
  }
}

function reason(code: string, resumeOffset: number): string {
  return JSON.stringify({ code, resumeOffset } satisfies PartitionCloseReason);
}

function close(ws: WebSocket, code: number, why: string): void {
  try {
    ws.close(code, why);
  } catch {
    // already closing
  }
}

function sendError(ws: WebSocket, error: EdgelogError): void {
  ws.send(JSON.stringify({ type: "error", ...error.toJSON() }));
}

/** The batches of `data` a read_committed reader keeps, markers included (see protocol/isolation.ts). */
function withoutAborted(data: Uint8Array, aborted: readonly AbortedTransaction[]): Uint8Array {
  const batches = splitBatches(data);
  const markers = new Set(batches.filter((b) => b.header.isControl));
  const kept = new Set(committedBatches(batches, aborted));
  const parts = batches.filter((b) => kept.has(b) || markers.has(b)).map((b) => b.bytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
