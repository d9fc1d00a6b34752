/**
 * The group session Durable Object: one per group member, named "<group>/<memberId>", serving
 * that member's group subscription (frames and close codes in frames.ts).
 *
 * A socket belongs to the object that accepted it, so a socket fed by several partitions needs an
 * object of its own: this one. It accepts the socket with the hibernation API and
 *   - heartbeats the group on the member's behalf, by alarm, while the socket is open: a hidden
 *     browser tab, whose timers run once a minute, keeps its partitions as long as its socket
 *     does. Once the socket closes the heartbeats stop and the member expires by its session
 *     timeout as usual; a reconnect within it keeps the partitions;
 *   - follows the answers and keeps the two-step handover (membership.ts);
 *   - feeds the partitions the client starts, within its credit (feed.ts).
 * Membership work (connects, heartbeats, starts, releases) runs one step at a time in order, so
 * a start is never checked against an assignment that is changing under it.
 */
import { DurableObject } from "cloudflare:workers";
import { type Need, refusalFor } from "../access/authorizer";
import { grantOf, socketRefusal } from "../access/socket-access";
import { EdgelogError, type ErrorCode } from "../../protocol/errors";
import { withTopic } from "../cluster/metadata";
import type { Env } from "../env";
import type { MemberAnswer } from "../group/coordinator";
import type { Outcome } from "../outcome";
import { statusOf } from "../cluster/partition-client";
import { Connection, closeSocket, type Attachment } from "./connection";
import { Credit } from "./credit";
import { Feed } from "./feed";
import { GROUP_SOCKET_CLOSE, tpKey } from "../../protocol/wire";
import { assignmentFrame, closeReason, errorFrame, parseClientFrame, type AutoOffsetReset, type ClientFrame } from "./frames";
import { Membership } from "./membership";
import { SessionStore } from "./store";

/** How soon a heartbeat that failed (the group object reset or overloaded) is tried again. */
const RETRY_MS = 1_000;

export class GroupSession extends DurableObject<Env> {
  #store: SessionStore;
  #membership: Membership;
  #feed: Feed;
  #conn: Connection | null = null;
  #restored = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SessionStore(ctx.storage);
    this.#membership = new Membership(this.#store);
    this.#feed = new Feed({
      env,
      generation: () => this.#membership.meta.generation,
      moved: (tp, position) => this.#membership.setPosition(tp, position),
      grant: () => this.#conn?.grant,
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('{"type":"ping"}', '{"type":"pong"}'));
  }

  /** The upgrade, forwarded by the worker with the group, member id and autoOffsetReset it validated. */
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const group = url.searchParams.get("group") ?? "";
    const memberId = url.searchParams.get("memberId") ?? "";
    const autoOffsetReset: AutoOffsetReset = url.searchParams.get("autoOffsetReset") === "latest" ? "latest" : "earliest";
    this.#restored = true; // whatever socket there was is replaced, not restored
    for (const ws of this.ctx.getWebSockets()) closeSocket(ws, GROUP_SOCKET_CLOSE.replaced, closeReason("CONNECTION_REPLACED"));
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    const attachment: Attachment = {
      id: this.#membership.meta.socketId + 1,
      autoOffsetReset,
      ...(url.searchParams.get("isolation") === "read_committed" ? { committed: true } : {}),
      told: false,
      credit: new Credit().snapshot(),
      grant: grantOf(url),
    };
    server.serializeAttachment(attachment);
    this.#membership.setMeta({ group, memberId, socketId: attachment.id, closedAt: null });
    this.#membership.clearPositions();
    this.#use(new Connection(server, attachment));
    this.#enqueue(() => this.#greet()).catch(() => {});
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    this.#restore();
    const conn = this.#conn;
    if (!conn || Connection.attachmentOf(ws)?.id !== conn.id) return; // an older socket, closing
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(data);
    } catch (err) {
      return conn.send(errorFrame(err as EdgelogError));
    }
    if (frame.type === "ping") return conn.send('{"type":"pong"}');
    if (frame.type === "credit") {
      conn.credit.grant(frame.records, frame.bytes);
      conn.save();
      return this.#feed.pump();
    }
    // (A failed step is logged by #enqueue; the socket goes on.)
    await this.#enqueue(() => (frame.type === "start" ? this.#start(conn, frame) : this.#released(conn, frame.generation))).catch(() => {});
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeSocket(ws, code === 1005 ? 1000 : code, "closed by the client");
    await this.#closed(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#closed(ws);
  }

  override async alarm(): Promise<void> {
    this.#restore();
    await this.#enqueue(() => this.#beat());
  }

  /** The first frame of a connection: the revocation still waiting for its release, or a heartbeat's answer. */
  async #greet(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return;
    if (this.#membership.meta.revokedAt === null) return this.#beat();
    await this.#tell(conn);
    await this.ctx.storage.setAlarm(this.#membership.releaseDeadline!);
  }

  /** Heartbeats for the member (unless a revocation waits for the client) and follows the answer. */
  async #beat(): Promise<void> {
    if (!this.#conn) return this.#whileClosed();
    if (await this.#accessEnded(this.#conn)) return;
    const m = this.#membership;
    if (!m.mayHeartbeat(Date.now())) return this.ctx.storage.setAlarm(m.releaseDeadline!);
    if (m.meta.revokedAt !== null) m.releaseWithoutClient();
    let outcome: Outcome<MemberAnswer>;
    try {
      outcome = await this.env.GROUP.get(this.env.GROUP.idFromName(m.meta.group)).heartbeat(m.meta.memberId);
    } catch (err) {
      console.error("edgelog: group session heartbeat failed", err);
      return this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
    if (!outcome.ok) {
      if (outcome.code === "UNKNOWN_MEMBER_ID" || outcome.code === "FENCED_INSTANCE_ID") return this.#end(outcome.code, outcome.message);
      return this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
    }
    // Followed even if the socket went meanwhile: the answer may have told a revocation, which
    // the next connection must hear about before any heartbeat releases it.
    const change = m.follow(outcome.value, Date.now());
    for (const tp of change.revoked) this.#feed.stop(tp);
    const conn = this.#conn;
    if (!conn) return;
    if (change.changed || !conn.told) await this.#tell(conn);
    await this.ctx.storage.setAlarm(m.releaseDeadline ?? Date.now() + m.meta.heartbeatIntervalMs);
  }

  /** Sends the assignment frame: generation, assignment with committed offsets, revoked partitions. */
  async #tell(conn: Connection): Promise<void> {
    const m = this.#membership;
    const assigned = m.assigned;
    const committed = new Map((assigned.length > 0 ? await this.#group().offsets() : []).map((o) => [tpKey(o), o]));
    if (this.#conn !== conn) return;
    const assignment = assigned.map(({ topic, partition }) => {
      const c = committed.get(tpKey({ topic, partition }));
      return { topic, partition, committed: c?.offset ?? null, resetId: c?.resetId ?? null };
    });
    conn.send(assignmentFrame(m.meta.generation, assignment, m.revoked));
    conn.told = true;
    conn.save();
  }

  /** Starts the assigned partitions a start frame names, from its offsets or the committed ones. */
  async #start(conn: Connection, frame: Extract<ClientFrame, { type: "start" }>): Promise<void> {
    const m = this.#membership;
    if (frame.generation !== null && frame.generation !== m.meta.generation) {
      return conn.send(
        errorFrame(
          new EdgelogError(
            "ILLEGAL_GENERATION",
            `generation ${frame.generation} is stale: the member is at generation ${m.meta.generation}`,
          ),
        ),
      );
    }
    const refused = frame.partitions.filter((p) => !m.isAssigned(p));
    if (refused.length > 0) {
      const names = refused.map((p) => `${p.topic}/${p.partition}`).join(", ");
      conn.send(
        errorFrame(
          new EdgelogError("REBALANCE_IN_PROGRESS", `${names} not assigned to this member in generation ${m.meta.generation}: not started`),
        ),
      );
    }
    let starts = frame.partitions.filter((p) => m.isAssigned(p));
    if (conn.grant) {
      // Reached through reassignment or not, a partition is read only with Read on its topic.
      const denied = new Set<string>();
      for (const topic of new Set(starts.map((p) => p.topic))) {
        const need: Need = { resourceType: "topic", name: topic, operation: "Read" };
        if (await socketRefusal(this.env, conn.grant, [need])) {
          denied.add(topic);
          conn.send(errorFrame(refusalFor(need)));
        }
      }
      starts = starts.filter((p) => !denied.has(p.topic));
    }
    const committed = new Map(
      starts.some((p) => p.offset === null) ? (await this.#group().offsets()).map((o) => [tpKey(o), o.offset]) : [],
    );
    for (const p of starts) {
      let position = p.offset ?? committed.get(tpKey(p)) ?? null;
      if (position === null) {
        try {
          const status = await withTopic(this.env, p.topic, (topic) => statusOf(this.env, topic, p.partition));
          position = conn.autoOffsetReset === "latest" ? status.highWatermark : status.logStartOffset;
        } catch (err) {
          if (!(err instanceof EdgelogError)) throw err;
          conn.send(errorFrame(err));
          continue;
        }
      }
      if (this.#conn === conn && m.isAssigned(p)) this.#feed.start(p, position);
    }
  }

  /**
   * Whether the socket's grant no longer allows it (a revoked key, an expired token, a removed
   * ACL on the group or an assigned topic): then it is closed with 4031, and the member left to
   * expire by its session timeout as after any close.
   */
  async #accessEnded(conn: Connection): Promise<boolean> {
    if (!conn.grant) return false;
    const m = this.#membership;
    const needs: Need[] = [{ resourceType: "group", name: m.meta.group, operation: "Read" }];
    for (const topic of new Set(m.assigned.map((p) => p.topic))) needs.push({ resourceType: "topic", name: topic, operation: "Read" });
    let code: ErrorCode | null;
    try {
      code = await socketRefusal(this.env, conn.grant, needs);
    } catch (err) {
      console.error("edgelog: group socket access check failed", String(err));
      return false; // the access state could not be read: the socket goes on until the next beat
    }
    if (!code) return false;
    conn.send(errorFrame(new EdgelogError(code, "the credential this socket was opened with no longer allows it")));
    conn.close(GROUP_SOCKET_CLOSE.accessRevoked, closeReason(code));
    this.#use(null);
    this.#membership.setMeta({ closedAt: Date.now() });
    await this.#whileClosed();
    return true;
  }

  async #released(conn: Connection, generation: number): Promise<void> {
    try {
      if (this.#membership.released(generation)) await this.#beat();
    } catch (err) {
      if (!(err instanceof EdgelogError)) throw err;
      conn.send(errorFrame(err));
    }
  }

  /** The member is gone: the client is told why, the socket closed, the session forgotten. */
  async #end(code: ErrorCode, message: string): Promise<void> {
    const conn = this.#conn;
    conn?.send(errorFrame(new EdgelogError(code, message)));
    for (const ws of this.ctx.getWebSockets()) {
      closeSocket(ws, code === "FENCED_INSTANCE_ID" ? GROUP_SOCKET_CLOSE.fenced : GROUP_SOCKET_CLOSE.unknownMember, closeReason(code));
    }
    this.#use(null);
    await this.#forget();
  }

  /** With no socket: nothing to heartbeat; a session closed for a session timeout is forgotten. */
  async #whileClosed(): Promise<void> {
    const m = this.#membership;
    if (m.meta.memberId === "") return;
    const now = Date.now();
    if (m.meta.closedAt === null) m.setMeta({ closedAt: now });
    const forgetAt = m.meta.closedAt! + m.meta.sessionTimeoutMs;
    if (now >= forgetAt) return this.#forget();
    await this.ctx.storage.setAlarm(forgetAt);
  }

  async #closed(ws: WebSocket): Promise<void> {
    this.#restore();
    if (Connection.attachmentOf(ws)?.id !== this.#membership.meta.socketId || this.#membership.meta.memberId === "") return;
    this.#use(null);
    this.#membership.setMeta({ closedAt: Date.now() });
    await this.#enqueue(() => this.#whileClosed());
  }

  async #forget(): Promise<void> {
    await this.#store.wipe();
    this.#membership = new Membership(this.#store);
  }

  /** After a wake-up: the newest socket, if still open, and the partitions started on it. */
  #restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    const id = this.#membership.meta.socketId;
    const ws = this.ctx.getWebSockets().find((w) => Connection.attachmentOf(w)?.id === id && w.readyState === WebSocket.OPEN);
    if (!ws) return;
    this.#use(new Connection(ws, Connection.attachmentOf(ws)!));
    for (const p of this.#membership.assigned) if (p.position !== null) this.#feed.start(p, p.position);
  }

  #use(conn: Connection | null): void {
    this.#conn = conn;
    this.#feed.attach(conn);
  }

  #group() {
    return this.env.GROUP.get(this.env.GROUP.idFromName(this.#membership.meta.group));
  }

  /** Runs membership work one step at a time, in order. */
  #enqueue(work: () => Promise<void>): Promise<void> {
    const done = this.#chain.then(work);
    this.#chain = done.catch((err) => console.error("edgelog: group session step failed", err));
    return done;
  }
}
