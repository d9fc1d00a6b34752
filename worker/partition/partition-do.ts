/**
 * The partition Durable Object: one per partition replica, named "<topicId>/<partition>/<replica>".
 *
 * A thin shell: it owns the storage, the alarm, the sockets and the RPC surface, and wires them to
 * the decisions of runtime-free modules (leadership.ts: who may do what by leader epoch, and what
 * a change of leadership sets off; alarm-plan.ts: when the one alarm is due; acks.ts: acks=all's
 * verdict; leader-epochs.ts: where a follower's log is cut) and to the work of PartitionLog,
 * Replicator and follower.ts (the two sides of replication), PartitionAlarm, Waiters, Push and
 * Faults (tests only). Every RPC answers an Outcome, so a refusal reaches the worker with its
 * error code intact; every RPC but assign/destroy first passes the fault gate.
 *
 *   leader    append (then replicate; acks=all waits for the high watermark), read, subscribe
 *   follower  follow/replicate (from the leader), read up to its high watermark (KIP-392)
 *   either    lead (from the controller: a new epoch, this replica leading or following)
 */
import { DurableObject } from "cloudflare:workers";
import { EdgelogError } from "../../protocol/errors";
import { LIMITS } from "../../protocol/limits";
import { grantOf } from "../access/socket-access";
import { errorResponse } from "../api/http/errors";
import { controller } from "../cluster/metadata";
import { replicaStub } from "../controller/placement";
import type { TopicConfig } from "../controller/topic-config";
import type { Env } from "../env";
import { attempt, attemptAsync, type Outcome } from "../outcome";
import { ACK_GRACE_MS, awaitCommit, commitEnd, type CommitView } from "./acks";
import { PartitionAlarm } from "./alarm";
import { idempotenceExpiry } from "./alarm-plan";
import { Faults, faultInjectionEnabled, type Fault } from "./faults";
import { joinLeader, takeBatches } from "./follower";
import * as leadership from "./leadership";
import type { LeadershipChange, LeadershipState, Transition } from "./leadership";
import { PartitionLog } from "./log";
import { CLOSE, Push } from "./push";
import { Replicator } from "./replicator";
import type {
  AppendRequest,
  AppendResult,
  FetchRequest,
  FollowerPosition,
  MarkerRequest,
  FollowRequest,
  LogStatus,
  PartitionAssignment,
  ReadResult,
  ReplicateRequest,
} from "./types";
import { Waiters } from "./waiters";

export class Partition extends DurableObject<Env> {
  #log: PartitionLog;
  #waiters = new Waiters();
  /** acks=all appends waiting for the high watermark to pass their records. */
  #commits = new Waiters();
  #push: Push;
  #faults: Faults;
  #replicator: Replicator;
  /** The in-memory half of the leadership state (see leadership.ts); the rest is the stored assignment. */
  #fenced = false;
  #alarm: PartitionAlarm;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#log = new PartitionLog(ctx.storage);
    this.#push = new Push(ctx, this.#log, env);
    this.#faults = new Faults(ctx.storage, faultInjectionEnabled(env));
    this.#replicator = new Replicator(this.#log, {
      follow: (replica, request) => this.#peer(replica).follow(request),
      replicate: (replica, request) => this.#peer(replica).replicate(request),
      alterIsr: (isr) => {
        const { topicId, partition, replica, leaderEpoch } = this.#log.owner;
        return controller(this.env).alterIsr(topicId, partition, replica, leaderEpoch, isr);
      },
      changed: () => this.#committed(),
      fenced: () => this.#carryOut(leadership.stepDown(this.#leadership())),
      healthy: () => this.#faults.healthy,
    });
    this.#alarm = new PartitionAlarm(ctx.storage, this.#log, {
      followersBehind: () => this.#replicator.active && this.#replicator.behind,
      resumeReplication: (now) => {
        this.#ensureReplicating();
        this.#replicator.resume(now);
      },
      healthy: () => this.#faults.healthy,
      compacted: () => this.#replicator.compacted(),
    });
    ctx.blockConcurrencyWhile(async () => {
      await this.#alarm.load();
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
      await this.#alarm.arm(Date.now(), null, true);
      return this.#log.status();
    });
  }

  /**
   * From the controller: a new leadership for the partition (after an election), or the current
   * one again (idempotent). This replica leads or follows accordingly.
   */
  async lead(change: LeadershipChange, config?: { config: TopicConfig; configVersion: number }): Promise<Outcome<LogStatus>> {
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
      const admission = leadership.admitProduce(this.#leadership(), request.leaderEpoch);
      this.#carryOut(admission);
      if (admission.error) throw admission.error;
      // An append to an empty log gives it a new oldest batch, whose retention the alarm already
      // set (say, for idempotence state a day away) does not cover.
      const wasEmpty = this.#log.logStartOffset === this.#log.logEndOffset;
      const watermark = this.#log.highWatermark;
      const result = this.#log.append(request, now);
      await this.#faults.afterLocalWrite();
      if (this.#log.highWatermark > watermark) this.#committed();
      this.#replicator.appended(now);
      const remembers = request.idempotencyKey !== undefined || request.batches.some((b) => b.header.producerId >= 0);
      await this.#alarm.armQuietly(now, remembers ? idempotenceExpiry(now) : null, wasEmpty);
      if (request.acks === "all") {
        const { config } = this.#log.owner;
        const view = () => this.#commitView(config["min.insync.replicas"]);
        await awaitCommit(
          commitEnd(result),
          view,
          (ready, ms) => this.#commits.wait(ready, ms),
          config["replica.lag.time.max.ms"] + ACK_GRACE_MS,
        );
      }
      return { ...result, highWatermark: this.#log.highWatermark };
    });
  }

  /**
   * Writes a transaction marker (see PartitionLog.appendMarker), on the leader of the request's
   * epoch, and answers once every in-sync replica has it (as acks=all): the coordinator counts a
   * partition done only then, so a failover cannot lose the marker.
   */
  async writeMarker(request: MarkerRequest): Promise<Outcome<{ offset: number; highWatermark: number }>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      const now = Date.now();
      const admission = leadership.admitProduce(this.#leadership(), request.leaderEpoch);
      this.#carryOut(admission);
      if (admission.error) throw admission.error;
      const watermark = this.#log.highWatermark;
      const { offset } = this.#log.appendMarker(request, now);
      await this.#faults.afterLocalWrite();
      if (this.#log.highWatermark > watermark) this.#committed();
      this.#replicator.appended(now);
      await this.#alarm.armQuietly(now, idempotenceExpiry(now));
      const { config } = this.#log.owner;
      await awaitCommit(
        offset + 1,
        () => this.#commitView(config["min.insync.replicas"]),
        (ready, ms) => this.#commits.wait(ready, ms),
        config["replica.lag.time.max.ms"] + ACK_GRACE_MS,
      );
      return { offset, highWatermark: this.#log.highWatermark };
    });
  }

  /** Reads from an offset, long-polling when asked (maxWaitMs > 0) until minBytes are there. */
  async read(request: FetchRequest): Promise<Outcome<ReadResult>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      this.#ensureReplicating();
      leadership.checkEpoch(this.#log.owner, request.leaderEpoch);
      const { offset, maxWaitMs } = request;
      const minBytes = Math.max(1, request.minBytes);
      this.#log.checkOffset(offset);
      const committed = request.isolation === "read_committed";
      const readable = () => (committed ? this.#log.txns.lastStableOffset(this.#log.highWatermark) : this.#log.highWatermark);
      const enough = () => readable() > offset && (minBytes <= 1 || this.#log.bytesAvailable(offset) >= minBytes);
      if (maxWaitMs > 0 && !enough()) await this.#waiters.wait(enough, Math.min(maxWaitMs, LIMITS.maxWaitMs));
      return this.#log.read(offset, request.maxBytes, request.maxRecords, committed);
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
      joinLeader(this.#log, request);
      return this.#position();
    });
  }

  /** From the leader: batches that continue this follower's log, and the leader's high watermark. */
  async replicate(request: ReplicateRequest): Promise<Outcome<FollowerPosition>> {
    await this.#faults.gate();
    return attemptAsync(async () => {
      const now = Date.now();
      await takeBatches(this.#log, request, now, () => this.#faults.afterLocalWrite());
      this.#waiters.wake();
      if (request.keys.length > 0 || request.data.byteLength > 0) {
        await this.#alarm.armQuietly(now, request.keys.length > 0 ? idempotenceExpiry(now) : null);
      }
      return this.#position();
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
        await this.#alarm.arm(Date.now(), null, true);
      }
      return { fault };
    });
  }

  /** Each follower's log end as this leader knows it (null: not reached yet); for tests and status. */
  async followers(): Promise<Outcome<Record<number, number | null>>> {
    await this.#faults.gate();
    return attempt(() => this.#replicator.positions());
  }

  #position(): FollowerPosition {
    return { logEndOffset: this.#log.logEndOffset, cleanGen: this.#log.cleanGen, cleanOffset: this.#log.cleanOffset };
  }

  /** Wipes the object: its batches, producer state, keys and alarm (the topic was deleted). */
  async destroy(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#alarm.forget();
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
      leadership.checkLeader(
        this.#log.owner,
        url.searchParams.has("leaderEpoch") ? Number(url.searchParams.get("leaderEpoch")) : undefined,
      );
      const format = url.searchParams.get("format") === "binary" ? "binary" : "json";
      const grant = grantOf(url);
      const access = grant ? { grant, topic: url.searchParams.get("topic") ?? "" } : undefined;
      const committed = url.searchParams.get("isolation") === "read_committed";
      return this.#push.accept(
        Number(url.searchParams.get("offset")),
        format,
        url.searchParams.get("mode") === "credit",
        access,
        committed,
      );
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
    await this.#alarm.fired(Date.now());
  }

  /** The stub of another replica of this partition. */
  #peer(replica: number) {
    const { topicId, partition } = this.#log.owner;
    return replicaStub(this.env, topicId, partition, replica);
  }

  #leadership(): LeadershipState {
    return { assignment: this.#log.owner, fenced: this.#fenced };
  }

  #adopt(change: LeadershipChange): void {
    this.#carryOut(leadership.adopt(this.#leadership(), change));
  }

  /** Enters a leadership state: stores it, and does what leadership.ts says the change requires. */
  #carryOut({ state, effects }: Transition): void {
    this.#fenced = state.fenced;
    for (const effect of effects) {
      if (effect.do === "record") this.#log.lead(effect.change);
      else if (effect.do === "replicate") this.#ensureReplicating();
      else if (effect.do === "stopReplicating") this.#replicator.stop();
      else if (effect.do === "closeSubscribers") this.#push.moveAll();
      else if (effect.do === "releaseWaiters") {
        this.#commits.wake(true);
        this.#waiters.wake(true);
      } else this.#learn();
    }
  }

  /** A leader of a replicated partition keeps its followers fed (also after a restart). */
  #ensureReplicating(): void {
    if (!this.#log.assignment || !this.#faults.healthy || this.#replicator.active) return;
    if (leadership.shouldReplicate(this.#leadership())) this.#replicator.start(Date.now());
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

  /** What acks=all's verdict depends on now; min.insync.replicas as it was when the append began. */
  #commitView(minInsyncReplicas: number): CommitView {
    const leading = leadership.isActiveLeader(this.#leadership());
    return { highWatermark: this.#log.highWatermark, leading, isrSize: this.#log.owner.isr.length, minInsyncReplicas };
  }

  /** The high watermark (or the in-sync set) moved. */
  #committed(): void {
    this.#waiters.wake();
    this.#commits.wake();
    this.#push.appended();
  }
}
