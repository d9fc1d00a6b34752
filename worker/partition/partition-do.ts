/**
 * The partition Durable Object: one per partition replica, named "<topicId>/<partition>/<replica>".
 *
 * A thin shell: it owns the SQLite storage, the alarm and the RPC surface, and hands the work to
 * PartitionLog (the log), Replicator (the leader's side of replication), Waiters (long-poll and
 * acks=all), Push (WebSocket subscribers), Faults (tests only) and enforceRetention (the alarm's
 * work). Every RPC answers an Outcome, so a refusal reaches the worker with its error code intact;
 * every RPC but assign/destroy first passes the fault gate.
 *
 * The same object is a leader or a follower, as its assignment says (see leadership.ts):
 *   leader    append (then replicate; acks=all waits for the high watermark), read, subscribe
 *   follower  follow/replicate (from the leader), read up to its high watermark (KIP-392)
 *   either    lead (from the controller: a new epoch, this replica leading or following)
 */
import { DurableObject } from "cloudflare:workers";
import { EdgelogError } from "../../protocol/errors";
import { controller } from "../cluster/metadata";
import { replicaStub } from "../controller/placement";
import type { TopicConfig } from "../controller/topic-config";
import type { Env } from "../env";
import { errorResponse } from "../api/http/errors";
import { LIMITS } from "../../protocol/limits";
import { attempt, attemptAsync, type Outcome } from "../outcome";
import { Faults, faultInjectionEnabled, type Fault } from "./faults";
import { divergence } from "./leader-epochs";
import { checkEpoch, checkFromLeader, checkLeader } from "./leadership";
import { PartitionLog } from "./log";
import { CLOSE, Push } from "./push";
import { Replicator } from "./replicator";
import { enforceRetention, overSizeLimit } from "./retention";
import type {
  AppendRequest,
  AppendResult,
  FetchRequest,
  FollowerPosition,
  FollowRequest,
  LogStatus,
  PartitionAssignment,
  ReadResult,
  ReplicateRequest,
} from "./types";
import { Waiters } from "./waiters";

/** How long an idempotency key, and an idle producer's sequence state, are remembered. */
export const IDEMPOTENCE_TTL_MS = 24 * 3600_000;
/** The furthest ahead the alarm is set; later work is re-evaluated then. */
const MAX_ALARM_HORIZON_MS = 30 * 24 * 3600_000;
/** How soon retention runs after the log grows past retention.bytes. */
const SIZE_CHECK_DELAY_MS = 1_000;
/** How soon the alarm comes back to a follower that is behind (after a restart, with no writes). */
const REPLICATION_RETRY_MS = 1_000;
/** How long an acks=all append waits for its records to be committed, beyond replica.lag.time.max.ms. */
const ACK_GRACE_MS = 5_000;

export class Partition extends DurableObject<Env> {
  #log: PartitionLog;
  #waiters = new Waiters();
  /** acks=all appends waiting for the high watermark to pass their records. */
  #commits = new Waiters();
  #push: Push;
  #faults: Faults;
  #replicator: Replicator;
  /** Set when a follower or the controller showed this leader a newer epoch, until it learns it. */
  #fenced = false;
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = new PartitionLog(ctx.storage);
    this.#push = new Push(ctx, this.#log);
    this.#faults = new Faults(ctx.storage, faultInjectionEnabled(env));
    this.#replicator = new Replicator(this.#log, {
      follow: (replica, request) => this.#peer(replica).follow(request),
      replicate: (replica, request) => this.#peer(replica).replicate(request),
      alterIsr: (isr) => {
        const { topicId, partition, replica, leaderEpoch } = this.#log.owner;
        return controller(this.env).alterIsr(topicId, partition, replica, leaderEpoch, isr);
      },
      changed: () => this.#committed(),
      fenced: () => this.#stepDown(),
      healthy: () => this.#faults.healthy,
    });
    ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
      await this.#faults.load();
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
    await this.#faults.gate();
    return attemptAsync(async () => {
      this.#log.configure(config, configVersion);
      // A lowered retention may be due before the alarm already set: recompute in full.
      await this.#arm(Date.now(), null, true);
      return this.#log.status();
    });
  }

  /**
   * From the controller: a new leadership for the partition (after an election), or the current
   * one again (idempotent). This replica leads or follows accordingly.
   */
  async lead(
    change: { leader: number; leaderEpoch: number; isr: number[] },
    config?: { config: TopicConfig; configVersion: number },
  ): Promise<Outcome<LogStatus>> {
    await this.#faults.gate();
    return attempt(() => {
      // A replica that was down when the config last changed learns it here.
      if (config) this.#log.configure(config.config, config.configVersion);
      this.#adopt(change);
      return this.#log.status();
    });
  }

  /**
   * Appends validated batches (see PartitionLog.append), on the leader of the request's epoch.
   * acks=0/1 answer once the leader stored them; acks=all once every in-sync replica has them
   * (the high watermark passed them).
   */
  async append(request: AppendRequest): Promise<Outcome<AppendResult>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      const now = Date.now();
      this.#leading(request.leaderEpoch);
      // An append to an empty log gives it a new oldest batch, whose retention the alarm already
      // set (say, for idempotence state a day away) does not cover.
      const wasEmpty = this.#log.logStartOffset === this.#log.logEndOffset;
      const watermark = this.#log.highWatermark;
      const result = this.#log.append(request, now);
      await this.#faults.afterLocalWrite();
      if (this.#log.highWatermark > watermark) this.#committed();
      this.#replicator.appended(now);
      const remembers = request.idempotencyKey !== undefined || request.batches.some((b) => b.header.producerId >= 0);
      // The append is committed: scheduling maintenance must not turn it into an error answer.
      await this.#arm(now, remembers ? now + IDEMPOTENCE_TTL_MS + 1 : null, wasEmpty).catch((err) =>
        console.error("edgelog: scheduling the partition alarm failed", err),
      );
      if (request.acks === "all") await this.#awaitCommit(result);
      return { ...result, highWatermark: this.#log.highWatermark };
    });
  }

  /** Waits until the high watermark passes the appended batches, or says why it cannot. */
  async #awaitCommit(result: AppendResult): Promise<void> {
    const end = Math.max(-1, ...result.batches.map((b) => b.lastOffset)) + 1;
    const { config } = this.#log.owner;
    const min = config["min.insync.replicas"];
    const settled = () => this.#log.highWatermark >= end || this.#fenced || !this.#log.isLeader || this.#log.owner.isr.length < min;
    if (!settled()) await this.#commits.wait(settled, config["replica.lag.time.max.ms"] + ACK_GRACE_MS);
    if (this.#fenced || !this.#log.isLeader) {
      // Not NOT_LEADER_OR_FOLLOWER, which promises nothing was applied: this write may survive.
      throw new EdgelogError("REQUEST_TIMED_OUT", "leadership moved before the write was replicated: the outcome is unknown; retry on the new leader");
    }
    // As Kafka: committed or not, a write the in-sync set fell below min.insync.replicas under is not safe.
    if (this.#log.owner.isr.length < min) {
      throw new EdgelogError(
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        `the in-sync set shrank to ${this.#log.owner.isr.length} replica(s), below min.insync.replicas ${min}, before the write was replicated`,
      );
    }
    if (this.#log.highWatermark >= end) return;
    throw new EdgelogError("REQUEST_TIMED_OUT", "the in-sync replicas did not acknowledge the write in time: the outcome is unknown");
  }

  /** Reads from an offset, long-polling when asked (maxWaitMs > 0) until minBytes are there. */
  async read(request: FetchRequest): Promise<Outcome<ReadResult>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      this.#ensureReplicating();
      checkEpoch(this.#log.owner, request.leaderEpoch);
      const { offset, maxWaitMs } = request;
      const minBytes = Math.max(1, request.minBytes);
      this.#log.checkOffset(offset);
      const enough = () => this.#log.highWatermark > offset && (minBytes <= 1 || this.#log.bytesAvailable(offset) >= minBytes);
      if (maxWaitMs > 0 && !enough()) await this.#waiters.wait(enough, Math.min(maxWaitMs, LIMITS.maxWaitMs));
      return this.#log.read(offset, request.maxBytes, request.maxRecords);
    });
  }

  /** The first batch that may hold a record at or after `timestamp` (see PartitionLog). */
  async batchAtTimestamp(timestamp: number): Promise<Outcome<{ batch: Uint8Array | null; highWatermark: number }>> {
    await this.#faults.gate();
    return attempt(() => ({ batch: this.#log.batchAtTimestamp(timestamp), highWatermark: this.#log.highWatermark }));
  }

  async status(): Promise<Outcome<LogStatus>> {
    await this.#faults.gate();
    return attempt(() => {
      this.#ensureReplicating();
      return this.#log.status();
    });
  }

  /**
   * From the leader, when it first reaches this follower (or after a refusal): adopt its epoch,
   * drop whatever suffix diverges from its log (KIP-101), and answer the log end to ship from.
   */
  async follow(request: FollowRequest): Promise<Outcome<FollowerPosition>> {
    await this.#faults.gate();
    return attempt(() => {
      this.#adopt({ leader: request.leader, leaderEpoch: request.leaderEpoch, isr: request.isr });
      const log = this.#log;
      log.configure(request.config, request.configVersion);
      if (log.logEndOffset < request.logStartOffset || log.logStartOffset > request.logEndOffset) {
        // What this replica needs next is gone from the leader (retention): start over from there.
        log.resetTo(request.logStartOffset, request.startPosition);
      } else {
        log.truncateTo(divergence(log.epochs(), log.logEndOffset, request.epochs, request.logEndOffset, request.logStartOffset));
      }
      return { logEndOffset: log.logEndOffset };
    });
  }

  /** From the leader: batches that continue this follower's log, and the leader's high watermark. */
  async replicate(request: ReplicateRequest): Promise<Outcome<FollowerPosition>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      const log = this.#log;
      if (checkFromLeader(log.owner, request.leader, request.leaderEpoch) === "newer") {
        throw new EdgelogError("UNKNOWN_LEADER_EPOCH", `replica ${log.owner.replica} has not been told of epoch ${request.leaderEpoch} yet: follow first`);
      }
      if (log.isLeader) throw new EdgelogError("NOT_LEADER_OR_FOLLOWER", `replica ${log.owner.replica} leads epoch ${request.leaderEpoch} itself`);
      if (request.configVersion > log.owner.configVersion) {
        throw new EdgelogError("UNKNOWN_LEADER_EPOCH", `replica ${log.owner.replica} missed config version ${request.configVersion}: follow again`);
      }
      if (request.fromOffset !== log.logEndOffset) {
        throw new EdgelogError("OFFSET_OUT_OF_RANGE", `batches from ${request.fromOffset}, but this replica's log ends at ${log.logEndOffset}`);
      }
      const now = Date.now();
      if (request.data.byteLength > 0) {
        log.appendReplicated(request.data, request.keys, now);
        await this.#faults.afterLocalWrite();
      }
      log.setHighWatermark(request.highWatermark);
      this.#waiters.wake();
      if (request.keys.length > 0 || request.data.byteLength > 0) {
        await this.#arm(now, request.keys.length > 0 ? now + IDEMPOTENCE_TTL_MS + 1 : null).catch((err) =>
          console.error("edgelog: scheduling the partition alarm failed", err),
        );
      }
      return { logEndOffset: log.logEndOffset };
    });
  }

  /** Tests only (see faults.ts): makes this replica unreachable, slow, or crash mid-append; "none" heals it. */
  async injectFault(fault: Fault): Promise<Outcome<{ fault: Fault }>> {
    return attemptAsync(async () => {
      if (!faultInjectionEnabled(this.env)) throw new EdgelogError("UNSUPPORTED_VERSION", "fault injection is off");
      await this.#faults.set(fault);
      if (fault.kind === "none" || fault.kind === "slow") {
        // A healed replica picks up where it stopped: a leader resumes its followers, and the
        // alarm (which did nothing while it was down) is set again.
        this.#ensureReplicating();
        this.#replicator.resume(Date.now());
        await this.#arm(Date.now(), null, true);
      }
      return { fault };
    });
  }

  /** Each follower's log end as this leader knows it (null: not reached yet); for tests and status. */
  async followers(): Promise<Outcome<Record<number, number | null>>> {
    await this.#faults.gate();
    return attempt(() => this.#replicator.positions());
  }

  /** Wipes the object: its batches, producer state, keys and alarm (the topic was deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarmAt = null;
    this.#replicator.stop();
    this.#log.forget();
    this.#waiters.wake(true);
    this.#commits.wake(true);
    this.#push.closeAll(CLOSE.topicDeleted, JSON.stringify({ code: "UNKNOWN_TOPIC_OR_PARTITION", resumeOffset: 0 }));
  }

  /**
   * WebSocket subscriptions: the worker forwards the upgrade here with the offset and format it
   * validated. See push.ts for the frames and the flow control.
   */
  override async fetch(request: Request): Promise<Response> {
    await this.#faults.gate();
    const url = new URL(request.url);
    try {
      checkLeader(this.#log.owner, url.searchParams.has("leaderEpoch") ? Number(url.searchParams.get("leaderEpoch")) : undefined);
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
    // A crashed replica does nothing; healing it (injectFault "none") re-arms the alarm.
    if (!this.#faults.healthy) return;
    enforceRetention(this.#log, assignment.config, now);
    this.#log.expireIdempotenceState(now - IDEMPOTENCE_TTL_MS, now - IDEMPOTENCE_TTL_MS);
    this.#ensureReplicating();
    this.#replicator.resume(now);
    await this.#arm(now);
  }

  /** The stub of another replica of this partition. */
  #peer(replica: number) {
    const { topicId, partition } = this.#log.owner;
    return replicaStub(this.env, topicId, partition, replica);
  }

  /** Throws unless this replica leads the request's epoch; starts replicating if it just began to. */
  #leading(epoch: number | undefined): void {
    const a = this.#log.owner;
    if (this.#fenced) throw new EdgelogError("NOT_LEADER_OR_FOLLOWER", `replica ${a.replica} was fenced by a newer leader epoch than ${a.leaderEpoch}`);
    try {
      checkLeader(a, epoch);
    } catch (err) {
      // A newer epoch than this replica knows: the controller's word has not reached it yet.
      if (err instanceof EdgelogError && err.code === "UNKNOWN_LEADER_EPOCH") this.#learn();
      throw err;
    }
    this.#ensureReplicating();
  }

  /** A leader of a replicated partition keeps its followers fed (also after a restart). */
  #ensureReplicating(): void {
    const a = this.#log.assignment;
    if (!a || this.#fenced || !this.#faults.healthy || this.#replicator.active) return;
    if (this.#log.isLeader && a.replicas.length > 1) this.#replicator.start(Date.now());
  }

  /** Adopts a leadership (from the controller or a leader); see leadership.ts. */
  #adopt(change: { leader: number; leaderEpoch: number; isr: number[] }): void {
    const log = this.#log;
    const wasLeader = log.isLeader && !this.#fenced;
    if (checkFromLeader(log.owner, change.leader, change.leaderEpoch) === "current" && !this.#fenced) return;
    log.lead(change);
    this.#fenced = false;
    if (log.isLeader) {
      this.#ensureReplicating();
      return;
    }
    if (wasLeader) this.#stepDown();
  }

  /** Stops leading: fetches, pushes and acks=all appends here are told to go elsewhere. */
  #stepDown(): void {
    if (this.#log.isLeader) this.#fenced = true;
    this.#replicator.stop();
    this.#push.moveAll();
    this.#commits.wake(true);
    this.#waiters.wake(true);
    if (this.#fenced) this.#learn();
  }

  /** Asks the controller for the partition's current leadership, and adopts it. */
  #learn(): void {
    const { topicId, partition } = this.#log.owner;
    void controller(this.env)
      .partitionState(topicId, partition)
      .then((outcome) => {
        if (outcome.ok) this.#adopt(outcome.value);
      })
      .catch((err) => console.warn(`edgelog: asking the controller for partition ${partition}'s leader failed: ${String(err)}`));
  }

  /** The high watermark (or the in-sync set) moved. */
  #committed(): void {
    this.#waiters.wake();
    this.#commits.wake();
    this.#push.appended();
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
    if (this.#replicator.active && this.#replicator.behind) consider(now + REPLICATION_RETRY_MS);
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

