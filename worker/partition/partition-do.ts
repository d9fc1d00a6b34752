/**
 * The partition Durable Object: one per partition replica, named "<topicId>/<partition>/<replica>".
 *
 * A thin shell: it owns the SQLite storage, the alarm and the RPC surface, and hands the work to
 * PartitionLog (the log), Waiters (long-poll) and enforceRetention (the alarm's work). Every RPC
 * answers an Outcome, so a refusal reaches the worker with its error code intact.
 */
import { DurableObject } from "cloudflare:workers";
import type { TopicConfig } from "../controller/topic-config";
import type { Env } from "../env";
import { errorResponse } from "../http/errors";
import { LIMITS } from "../http/limits";
import { attempt, attemptAsync, type Outcome } from "../outcome";
import { PartitionLog } from "./log";
import { CLOSE, Push } from "./push";
import { enforceRetention, overSizeLimit } from "./retention";
import type { AppendRequest, AppendResult, FetchRequest, LogStatus, PartitionAssignment, ReadResult } from "./types";
import { Waiters } from "./waiters";

/** How long an idempotency key, and an idle producer's sequence state, are remembered. */
export const IDEMPOTENCE_TTL_MS = 24 * 3600_000;
/** The furthest ahead the alarm is set; later work is re-evaluated then. */
const MAX_ALARM_HORIZON_MS = 30 * 24 * 3600_000;
/** How soon retention runs after the log grows past retention.bytes. */
const SIZE_CHECK_DELAY_MS = 1_000;

export class Partition extends DurableObject<Env> {
  #log: PartitionLog;
  #waiters = new Waiters();
  #push: Push;
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = new PartitionLog(ctx.storage);
    this.#push = new Push(ctx, this.#log);
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Takes ownership for a topic (called by the controller when it creates the topic). */
  assign(assignment: PartitionAssignment): Outcome<LogStatus> {
    return attempt(() => {
      this.#log.assign(assignment);
      return this.#log.status();
    });
  }

  /** Replaces the topic config; retention is re-evaluated right away. */
  async configure(config: TopicConfig, configVersion: number): Promise<Outcome<LogStatus>> {
    return attemptAsync(async () => {
      this.#log.configure(config, configVersion);
      // A lowered retention may be due before the alarm already set: recompute in full.
      await this.#arm(Date.now(), null, true);
      return this.#log.status();
    });
  }

  /** Appends validated batches; see PartitionLog.append. */
  async append(request: AppendRequest): Promise<Outcome<AppendResult>> {
    return attemptAsync(async () => {
      const now = Date.now();
      // An append to an empty log gives it a new oldest batch, whose retention the alarm already
      // set (say, for idempotence state a day away) does not cover.
      const wasEmpty = this.#log.logStartOffset === this.#log.logEndOffset;
      const result = this.#log.append(request, now);
      this.#waiters.wake();
      this.#push.appended();
      const remembers = request.idempotencyKey !== undefined || request.batches.some((b) => b.header.producerId >= 0);
      // The append is committed: scheduling maintenance must not turn it into an error answer.
      await this.#arm(now, remembers ? now + IDEMPOTENCE_TTL_MS + 1 : null, wasEmpty).catch((err) =>
        console.error("edgelog: scheduling the partition alarm failed", err),
      );
      return result;
    });
  }

  /** Reads from an offset, long-polling when asked (maxWaitMs > 0) until minBytes are there. */
  async read(request: FetchRequest): Promise<Outcome<ReadResult>> {
    return attemptAsync(async () => {
      const { offset, maxWaitMs } = request;
      const minBytes = Math.max(1, request.minBytes);
      this.#log.checkOffset(offset);
      const enough = () => this.#log.highWatermark > offset && (minBytes <= 1 || this.#log.bytesAvailable(offset) >= minBytes);
      if (maxWaitMs > 0 && !enough()) await this.#waiters.wait(enough, Math.min(maxWaitMs, LIMITS.maxWaitMs));
      return this.#log.read(offset, request.maxBytes, request.maxRecords);
    });
  }

  /** The first batch that may hold a record at or after `timestamp` (see PartitionLog). */
  batchAtTimestamp(timestamp: number): Outcome<{ batch: Uint8Array | null; highWatermark: number }> {
    return attempt(() => ({ batch: this.#log.batchAtTimestamp(timestamp), highWatermark: this.#log.highWatermark }));
  }

  status(): Outcome<LogStatus> {
    return attempt(() => this.#log.status());
  }

  /** Wipes the object: its batches, producer state, keys and alarm (the topic was deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarmAt = null;
    this.#log.forget();
    this.#waiters.wake(true);
    this.#push.closeAll(CLOSE.topicDeleted, JSON.stringify({ code: "UNKNOWN_TOPIC_OR_PARTITION", resumeOffset: 0 }));
  }

  /**
   * WebSocket subscriptions: the worker forwards the upgrade here with the offset and format it
   * validated. See push.ts for the frames and the flow control.
   */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      const format = url.searchParams.get("format") === "binary" ? "binary" : "json";
      return this.#push.accept(Number(url.searchParams.get("offset")), format, url.searchParams.get("mode") === "credit");
    } catch (err) {
      return errorResponse(err);
    }
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    this.#push.message(ws, message);
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 ? 1000 : code, "closed by the client");
    } catch {
      // already closed
    }
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const assignment = this.#log.assignment;
    if (!assignment) return;
    const now = Date.now();
    enforceRetention(this.#log, assignment.config, now);
    this.#log.expireIdempotenceState(now - IDEMPOTENCE_TTL_MS, now - IDEMPOTENCE_TTL_MS);
    await this.#arm(now);
  }

  /**
   * Keeps the one alarm at the earliest maintenance due: retention, or expiring idempotence
   * state. `hint` is a due time the caller knows of (state it just wrote). The full computation
   * (a few indexed queries) runs only when no alarm is set, or when `full` (the oldest batch or
   * the config changed), so a busy append path costs nothing.
   */
  async #arm(now: number, hint: number | null = null, full = false): Promise<void> {
    const assignment = this.#log.assignment;
    if (!assignment) return;
    let due = hint;
    const consider = (t: number | null) => {
      if (t !== null && (due === null || t < due)) due = t;
    };
    if (overSizeLimit(this.#log, assignment.config)) consider(now + SIZE_CHECK_DELAY_MS);
    if (this.#alarmAt === null || full) {
      if (assignment.config["retention.ms"] >= 0) {
        const oldest = this.#log.oldestBatches(1)[0];
        if (oldest) consider(oldest.max_timestamp + assignment.config["retention.ms"] + 1);
      }
      const idle = this.#log.oldestIdempotenceState();
      if (idle.key !== null) consider(idle.key + IDEMPOTENCE_TTL_MS + 1);
      if (idle.producer !== null) consider(idle.producer + IDEMPOTENCE_TTL_MS + 1);
    }
    if (due === null) return;
    // Far-future dues (huge retention.ms, future timestamps) are looked at again in a while
    // instead: the alarm API refuses dates centuries away, and re-evaluating is harmless.
    due = Math.min(due, now + MAX_ALARM_HORIZON_MS);
    if (this.#alarmAt !== null && this.#alarmAt <= due) return;
    await this.ctx.storage.setAlarm(due);
    this.#alarmAt = due;
  }
}

