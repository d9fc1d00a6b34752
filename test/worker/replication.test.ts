/**
 * Replication across regions and leader failover, with a replication factor of 3, against the
 * real objects (every replica is its own Durable Object; faults come from the test-only switch).
 *
 * Guarantees stated here:
 *   - placement: one replica per region, all in sync at epoch 0; RF above the regions is refused;
 *   - acks=all is answered once every in-sync replica has the records, and consumers (of the
 *     leader or of a follower) never see past the high watermark;
 *   - a follower down leaves the in-sync set and writes go on while min.insync.replicas holds,
 *     and stop with NOT_ENOUGH_REPLICAS when it does not; it catches up and rejoins when back;
 *   - a leader down is replaced by the in-sync follower with the longest log at a higher epoch,
 *     losing no acknowledged record; the old leader is fenced, truncates its divergent suffix
 *     and becomes a follower.
 */
import { createExecutionContext, env, runInDurableObject } from "cloudflare:test";
import { describe as suite, expect, it } from "vitest";
import { partitionForKey } from "../../protocol/murmur2";
import { assignOffsets, readBatchHeader } from "../../protocol/record-batch";
import { createApp } from "../../worker/api/app";
import { api, BASE, expectError, uniqueTopic } from "./helpers";
import { openSocket } from "./socket";
import {
  appendOk,
  batchOf,
  createReplicated,
  describe,
  eventually,
  fault,
  initProducer,
  postBatch,
  regionOf,
  replica,
  storedValues,
  valuesOf,
} from "./replication-helpers";

/** Short lag bound so a failed follower leaves the in-sync set quickly in tests. */
const FAST = { "replica.lag.time.max.ms": 300 };

suite("placement", () => {
  it("places each partition's replicas in distinct regions, all in sync at epoch 0, and describes where each lives", async () => {
    const name = uniqueTopic("place");
    const created = await createReplicated(name, 3, {}, 4);
    for (const p of created.partitions) {
      expect(p.replicas).toHaveLength(3);
      expect(new Set(p.regions).size).toBe(3);
      expect(p.regions).toEqual(p.replicas.map(regionOf));
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.leaderEpoch).toBe(0);
    }
    // Leaders are spread: four partitions do not all lead from one region.
    expect(new Set(created.partitions.map((p) => p.leader)).size).toBe(4);
  });

  it("every replica object knows the topic, its leader and the in-sync set from the start", async () => {
    const name = uniqueTopic("told");
    const t = await createReplicated(name, 3);
    for (const r of t.partitions[0].replicas) {
      const status = await replica(t.topicId, r).status();
      expect(status).toMatchObject({
        ok: true,
        value: { replica: r, leader: t.partitions[0].leader, leaderEpoch: 0, isLeader: r === t.partitions[0].leader },
      });
    }
  });
});

suite("acks and the high watermark", () => {
  it("acks=all answers once every in-sync replica has the records: each replica then stores them all", async () => {
    const name = uniqueTopic("acks-all");
    const t = await createReplicated(name, 3, { "min.insync.replicas": 2 });
    for (let i = 0; i < 5; i++) {
      const a = await appendOk(name, await batchOf([`a${i}`, `b${i}`]), "all");
      expect(a.highWatermark).toBe(a.lastOffset + 1);
    }
    const expected = Array.from({ length: 5 }, (_, i) => [`a${i}`, `b${i}`]).flat();
    for (const r of t.partitions[0].replicas) {
      // Straight from each object's storage, not through the leader.
      expect((await replica(t.topicId, r).status()).ok).toBe(true);
      expect(
        await eventually(
          `replica ${r}`,
          () => storedValues(t.topicId, r),
          (v) => v.length === 10,
        ),
      ).toEqual(expected);
    }
  });

  it("a consumer may read from a follower near it (KIP-392), which serves what is below its own high watermark", async () => {
    const name = uniqueTopic("nearest");
    const t = await createReplicated(name, 3);
    const follower = t.partitions[0].replicas[2];
    await appendOk(name, await batchOf(["x", "y", "z"]), "all");
    const read = await eventually(
      "follower read",
      () => valuesOf(name, regionOf(follower)),
      (r) => r.values.length === 3,
    );
    expect(read).toEqual({ values: ["x", "y", "z"], highWatermark: 3, replica: follower });
    // A region with no replica falls back to the leader; an unknown region is refused.
    const other = ["wnam", "enam", "weur", "eeur", "apac", "oc"].find((r) => !t.partitions[0].regions.includes(r))!;
    expect((await valuesOf(name, other)).replica).toBe(t.partitions[0].leader);
    await expectError(await api(`/v1/topics/${name}/partitions/0/records?region=mars`), 400, "INVALID_REQUEST");
  });

  it("a follower asked for an offset past its high watermark leaves the answer to the leader: nothing past the leader's watermark is ever shown", async () => {
    const name = uniqueTopic("fhw");
    const t = await createReplicated(name, 3, FAST);
    const [leader, f1, f2] = t.partitions[0].replicas;
    await appendOk(name, await batchOf(["one"]), "all");
    // Slow followers: an acks=1 write is on the leader only for a while.
    await fault(name, f1, "slow", 400);
    await fault(name, f2, "slow", 400);
    await appendOk(name, await batchOf(["two"]), "1");
    const fromFollower = await valuesOf(name, regionOf(f1));
    const fromLeader = await valuesOf(name);
    for (const read of [fromFollower, fromLeader]) {
      expect(read.values.length).toBe(read.highWatermark);
      expect(read.values.slice(0, 1)).toEqual(["one"]);
    }
    expect(fromLeader.replica).toBe(leader);
    await fault(name, f1, "none");
    await fault(name, f2, "none");
    expect(
      (
        await eventually(
          "committed",
          () => valuesOf(name),
          (r) => r.values.length === 2,
        )
      ).values,
    ).toEqual(["one", "two"]);
  });
  it("an offset between the high watermark and the leader's log end is a valid position with nothing to read yet (as after a failover); past the log end is out of range", async () => {
    const name = uniqueTopic("hw-leo");
    const t = await createReplicated(name, 3, FAST);
    const [, f1, f2] = t.partitions[0].replicas;
    await appendOk(name, await batchOf(["one"]), "all");
    await fault(name, f1, "slow", 1_000);
    await fault(name, f2, "slow", 1_000);
    await appendOk(name, await batchOf(["two", "three"]), "1");
    const early = await api(`/v1/topics/${name}/partitions/0/records?offset=2`);
    const body = (await early.json()) as { records: unknown[]; highWatermark: number };
    expect(early.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ records: [], highWatermark: 1 });
    await expectError(await api(`/v1/topics/${name}/partitions/0/records?offset=4`), 400, "OFFSET_OUT_OF_RANGE");
    // A long-poll there answers once the records are committed.
    await fault(name, f1, "none");
    await fault(name, f2, "none");
    const waited = (await (await api(`/v1/topics/${name}/partitions/0/records?offset=2&maxWaitMs=5000`)).json()) as {
      records: { value: string }[];
    };
    expect(waited.records.map((r) => r.value)).toEqual(["three"]);
  });
});

suite("a follower down", () => {
  it("leaves the in-sync set; writes go on while min.insync.replicas holds, stop with NOT_ENOUGH_REPLICAS when not; back, it catches up and rejoins", async () => {
    const name = uniqueTopic("follower-down");
    const t = await createReplicated(name, 3, { "min.insync.replicas": 2, ...FAST });
    const [leader, f1, f2] = t.partitions[0].replicas;
    await appendOk(name, await batchOf(["before"]), "all");

    await fault(name, f1, "unreachable");
    // Waits for the follower to be dropped (about replica.lag.time.max.ms), then succeeds.
    await appendOk(name, await batchOf(["one-down"]), "all");
    expect((await describe(name)).partitions[0].isr).toEqual([leader, f2]);

    await fault(name, f2, "unreachable");
    // The in-sync set shrinks below min.insync.replicas while this write waits: its outcome is unknown.
    const after = await postBatch(name, await batchOf(["two-down"]), "all");
    expect(after.status).toBe(503);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe("NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    expect((await describe(name)).partitions[0].isr).toEqual([leader]);
    // Now refused up front, and nothing is stored.
    const before = (await valuesOf(name)).highWatermark;
    const refused = await expectError(await postBatch(name, await batchOf(["refused"]), "all"), 503, "NOT_ENOUGH_REPLICAS");
    expect(refused.retriable).toBe(true);
    expect(await replica(t.topicId, leader).status()).toMatchObject({ ok: true, value: { logEndOffset: before } });
    // acks=1 is still taken.
    await appendOk(name, await batchOf(["acks-one"]), "1");

    await fault(name, f1, "none");
    await fault(name, f2, "none");
    await eventually(
      "in-sync set restored",
      () => describe(name),
      (d) => d.partitions[0].isr.length === 3,
    );
    const leaderValues = (await valuesOf(name)).values;
    expect(leaderValues).toEqual(["before", "one-down", "two-down", "acks-one"]);
    for (const r of [f1, f2])
      expect(
        await eventually(
          `replica ${r} caught up`,
          () => storedValues(t.topicId, r),
          (v) => v.length === 4,
        ),
      ).toEqual(leaderValues);
    await appendOk(name, await batchOf(["after"]), "all");
  });
  it("a follower down during a config change learns the config from its leader when it returns", async () => {
    const name = uniqueTopic("config-down");
    const t = await createReplicated(name, 3, FAST);
    const [, f1] = t.partitions[0].replicas;
    await fault(name, f1, "unreachable");
    const res = await api(`/v1/topics/${name}/config`, { method: "PATCH", json: { config: { "retention.ms": 3_600_000 } } });
    expect(res.status, await res.clone().text()).toBe(200);
    await fault(name, f1, "none");
    await appendOk(name, await batchOf(["x"]), "all");
    const stored = () =>
      runInDurableObject(replica(t.topicId, f1), async (_instance, state) => {
        const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'assignment'").one();
        return (JSON.parse(row.value) as { config: Record<string, unknown> }).config["retention.ms"];
      });
    expect(await eventually("follower's config", stored, (v) => v === 3_600_000)).toBe(3_600_000);
  });
});

suite("leader failover", () => {
  it("a report that the leader is unreachable is only a suspicion: the controller probes the leader itself, and a leader that answers keeps its epoch", async () => {
    const name = uniqueTopic("no-flap");
    const t = await createReplicated(name, 3, FAST);
    const controller = env.CONTROLLER.get(env.CONTROLLER.idFromName("cluster"));
    for (let i = 0; i < 3; i++) {
      expect(await controller.leaderUnreachable(t.topicId, 0, 0)).toMatchObject({
        ok: true,
        value: { leader: t.partitions[0].leader, leaderEpoch: 0 },
      });
    }
    // A slow leader is not a failed one either.
    await fault(name, t.partitions[0].leader, "slow", 100);
    expect(await controller.leaderUnreachable(t.topicId, 0, 0)).toMatchObject({ ok: true, value: { leaderEpoch: 0 } });
    await fault(name, t.partitions[0].leader, "none");
    // A report about an epoch that is no longer current changes nothing.
    expect(await controller.leaderUnreachable(t.topicId, 0, 7)).toMatchObject({ ok: true, value: { leaderEpoch: 0 } });
    expect((await describe(name)).partitions[0]).toMatchObject({ leader: t.partitions[0].leader, leaderEpoch: 0 });
  });

  it("elects the in-sync follower with the longest log at a higher epoch; no acknowledged record is lost and the idempotent retry is not duplicated", async () => {
    const name = uniqueTopic("failover");
    const t = await createReplicated(name, 3, { "min.insync.replicas": 2, ...FAST });
    const [oldLeader] = t.partitions[0].replicas;
    const producer = await initProducer();
    let sequence = 0;
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const values = [`r${i}a`, `r${i}b`];
      await appendOk(name, await batchOf(values, producer, sequence), "all");
      sequence += values.length;
      acked.push(...values);
    }
    await fault(name, oldLeader, "unreachable");
    for (let i = 5; i < 10; i++) {
      const values = [`r${i}a`, `r${i}b`];
      await appendOk(name, await batchOf(values, producer, sequence), "all");
      sequence += values.length;
      acked.push(...values);
    }
    const after = (await describe(name)).partitions[0];
    expect(after.leader).not.toBe(oldLeader);
    expect(after.leaderEpoch).toBe(1);
    expect(after.isr).not.toContain(oldLeader);
    expect((await valuesOf(name)).values).toEqual(acked);

    // The old leader returns: fenced, it follows the new leader, catches up and rejoins.
    await fault(name, oldLeader, "none");
    await eventually(
      "old leader rejoined",
      () => describe(name),
      (d) => d.partitions[0].isr.length === 3,
    );
    expect(await replica(t.topicId, oldLeader).status()).toMatchObject({
      ok: true,
      value: { isLeader: false, leader: after.leader, leaderEpoch: 1 },
    });
    expect(
      await eventually(
        "old leader's log",
        () => storedValues(t.topicId, oldLeader),
        (v) => v.length === acked.length,
      ),
    ).toEqual(acked);
  });

  it("a stale leader is fenced: it refuses appends for its old epoch, and followers refuse its batches", async () => {
    const name = uniqueTopic("fenced");
    const t = await createReplicated(name, 3, FAST);
    const [oldLeader, f1] = t.partitions[0].replicas;
    const producer = await initProducer();
    await appendOk(name, await batchOf(["a"], producer, 0), "all");
    await fault(name, oldLeader, "unreachable");
    // Idempotent, so the worker may resend it to the new leader.
    await appendOk(name, await batchOf(["b"], producer, 1), "all");
    const now = (await describe(name)).partitions[0];
    expect(now.leaderEpoch).toBe(1);

    const bytes = await batchOf(["zombie"]);
    const checked = { header: readBatchHeader(bytes), bytes };
    // A follower refuses batches from the epoch-0 leader.
    const shipped = await replica(t.topicId, f1).replicate({
      leader: oldLeader,
      leaderEpoch: 0,
      fromOffset: 0,
      data: bytes,
      keys: [],
      highWatermark: 0,
      configVersion: 0,
    });
    expect(shipped).toMatchObject({ ok: false, code: "FENCED_LEADER_EPOCH" });
    // The new leader refuses a request routed by the old epoch; a follower refuses appends outright.
    expect(await replica(t.topicId, now.leader).append({ batches: [checked], acks: 1, leaderEpoch: 0 })).toMatchObject({
      ok: false,
      code: "FENCED_LEADER_EPOCH",
    });
    const follower = now.replicas.find((r) => r !== now.leader && r !== oldLeader)!;
    expect(await replica(t.topicId, follower).append({ batches: [checked], acks: 1, leaderEpoch: 1 })).toMatchObject({
      ok: false,
      code: "NOT_LEADER_OR_FOLLOWER",
    });
    // The controller refuses an in-sync change from the old leader.
    const controller = env.CONTROLLER.get(env.CONTROLLER.idFromName("cluster"));
    expect(await controller.alterIsr(t.topicId, 0, oldLeader, 0, [oldLeader])).toMatchObject({ ok: false, code: "FENCED_LEADER_EPOCH" });
    // Healed, the old leader learns the new epoch and refuses to lead.
    await fault(name, oldLeader, "none");
    await eventually(
      "old leader follows",
      async () => (await replica(t.topicId, oldLeader).status()) as { ok: boolean; value?: { isLeader: boolean } },
      (s) => s.ok && s.value?.isLeader === false,
    );
    expect(await replica(t.topicId, oldLeader).append({ batches: [checked], acks: 1, leaderEpoch: 0 })).toMatchObject({ ok: false });
    expect((await valuesOf(name)).values).toEqual(["a", "b"]);
  });

  it("an old leader that crashed mid-append truncates the suffix no one else had (by leader epoch) and takes the new leader's records", async () => {
    const name = uniqueTopic("diverge");
    const t = await createReplicated(name, 3, FAST);
    const [oldLeader] = t.partitions[0].replicas;
    await appendOk(name, await batchOf(["kept-0", "kept-1"]), "all");
    await fault(name, oldLeader, "crash-mid-append");
    // Written on the old leader only, then it "crashed": the answer is a retriable unknown outcome.
    const lost = await postBatch(name, await batchOf(["divergent"]), "all");
    expect(lost.status).toBe(503);
    const follower = await replica(t.topicId, t.partitions[0].replicas[1]).status();
    expect(follower).toMatchObject({ ok: true, value: { logEndOffset: 2 } });
    // The next write goes to the new leader, at the offset the divergent record took on the old one.
    const next = await appendOk(name, await batchOf(["new-leader"]), "all");
    expect(next.baseOffset).toBe(2);
    await fault(name, oldLeader, "none");
    await eventually(
      "old leader truncated and caught up",
      () => storedValues(t.topicId, oldLeader),
      (v) => v.length === 3 && v[2] === "new-leader",
    );
    await eventually(
      "in sync",
      () => describe(name),
      (d) => d.partitions[0].isr.length === 3,
    );
    expect((await valuesOf(name)).values).toEqual(["kept-0", "kept-1", "new-leader"]);
  });

  it("WebSocket subscribers get each committed record once; when leadership moves the old leader closes them with 4006 and where to resume, and the new leader serves them", async () => {
    const name = uniqueTopic("push-failover");
    const t = await createReplicated(name, 3, FAST);
    const [oldLeader] = t.partitions[0].replicas;
    const producer = await initProducer();
    const socket = await openSocket(`/v1/topics/${name}/partitions/0/subscribe?offset=0`);
    await appendOk(name, await batchOf(["p0", "p1"], producer, 0), "all");
    const first = (await socket.next((f) => "records" in f)) as { records: { offset: number; value: string }[] };
    expect(first.records.map((r) => r.value)).toEqual(["p0", "p1"]);
    await fault(name, oldLeader, "unreachable");
    await appendOk(name, await batchOf(["p2"], producer, 2), "all");
    await fault(name, oldLeader, "none");
    const closed = await socket.closed;
    expect(closed.code).toBe(4006);
    expect(JSON.parse(closed.reason)).toEqual({ code: "NOT_LEADER_OR_FOLLOWER", resumeOffset: 2 });
    const again = await openSocket(`/v1/topics/${name}/partitions/0/subscribe?offset=2`);
    const resumed = (await again.next((f) => "records" in f)) as { records: { offset: number; value: string }[] };
    expect(resumed.records).toMatchObject([{ offset: 2, value: "p2" }]);
    again.ws.close(1000);
  });

  it("an Idempotency-Key survives the failover of its home partition: a different request reusing it is still refused there, before anything is applied", async () => {
    const name = uniqueTopic("key-failover");
    const t = await createReplicated(name, 3, FAST, 2);
    const key = "order-7";
    const home = partitionForKey(new TextEncoder().encode(key), 2);
    const other = 1 - home;
    const keyed = (records: unknown[]) =>
      api(`/v1/topics/${name}/records?acks=all`, { method: "POST", headers: { "idempotency-key": key }, json: { records } });
    // The home partition records the key with no records of its own; a later batch ships it.
    expect((await keyed([{ value: "x", partition: other }])).status).toBe(200);
    expect(
      (await api(`/v1/topics/${name}/records?acks=all`, { method: "POST", json: { records: [{ value: "h", partition: home }] } })).status,
    ).toBe(200);
    await fault(name, t.partitions[home].leader, "unreachable", undefined, home);
    await expectError(await keyed([{ value: "y", partition: other }]), 400, "INVALID_REQUEST");
    expect((await describe(name)).partitions[home].leaderEpoch).toBe(1);
    expect((await valuesOf(name, undefined, other)).values).toEqual(["x"]);
  });

  it("with no in-sync replica left, the partition waits for its leader (no unclean election) and answers a retriable error meanwhile", async () => {
    const name = uniqueTopic("no-isr");
    const t = await createReplicated(name, 3, FAST);
    const [leader, f1, f2] = t.partitions[0].replicas;
    await fault(name, f1, "unreachable");
    await fault(name, f2, "unreachable");
    await appendOk(name, await batchOf(["alone"]), "all"); // the set shrinks to the leader
    expect((await describe(name)).partitions[0].isr).toEqual([leader]);
    await fault(name, f1, "none");
    await fault(name, leader, "unreachable");
    const res = await postBatch(name, await batchOf(["nowhere"]), "all");
    expect(res.status).toBe(503);
    expect((await describe(name)).partitions[0]).toMatchObject({ leader, leaderEpoch: 0 });
    await fault(name, leader, "none");
    await fault(name, f2, "none");
    await appendOk(name, await batchOf(["back"]), "all");
    expect((await valuesOf(name)).values.slice(0, 1)).toEqual(["alone"]);
  });
  it("with unclean.leader.election.enable, a replica outside the in-sync set takes over, and what only the old leader had is lost (as Kafka warns)", async () => {
    const name = uniqueTopic("unclean");
    const t = await createReplicated(name, 3, { ...FAST, "unclean.leader.election.enable": true });
    const [leader, f1, f2] = t.partitions[0].replicas;
    const producer = await initProducer();
    await appendOk(name, await batchOf(["everywhere"], producer, 0), "all");
    await fault(name, f1, "unreachable");
    await fault(name, f2, "unreachable");
    await appendOk(name, await batchOf(["leader-only"], producer, 1), "all");
    expect((await describe(name)).partitions[0].isr).toEqual([leader]);
    await fault(name, leader, "unreachable");
    await fault(name, f1, "none");
    // The idempotent batch is resent by the worker to the unclean leader, which never had "leader-only".
    await appendOk(name, await batchOf(["after"], await initProducer(), 0), "all");
    const now = (await describe(name)).partitions[0];
    expect(now).toMatchObject({ leader: f1, leaderEpoch: 1, isr: [f1] });
    expect((await valuesOf(name)).values).toEqual(["everywhere", "after"]);
    await fault(name, leader, "none");
    await fault(name, f2, "none");
    // The old leader's suffix is truncated when it follows: every replica ends with the new history.
    for (const r of [leader, f2])
      await eventually(
        `replica ${r}`,
        () => storedValues(t.topicId, r),
        (v) => JSON.stringify(v) === JSON.stringify(["everywhere", "after"]),
      );
  });
});

suite("leader epochs on a replica", () => {
  it("a leadership held without writing leaves no epoch record once older batches arrive where it started (so later comparisons do not cut committed records)", async () => {
    const name = uniqueTopic("empty-epoch");
    const t = await createReplicated(name, 3);
    const [, r, f] = t.partitions[0].replicas;
    const stub = replica(t.topicId, r);
    // r leads epoch 1 without writing anything, then follows f at epoch 2.
    expect(await stub.lead({ leader: r, leaderEpoch: 1, isr: t.partitions[0].replicas })).toMatchObject({ ok: true });
    const follow = await stub.follow({
      leader: f,
      leaderEpoch: 2,
      isr: t.partitions[0].replicas,
      epochs: [
        { epoch: 0, startOffset: 0 },
        { epoch: 2, startOffset: 3 },
      ],
      logEndOffset: 3,
      logStartOffset: 0,
      startPosition: 0,
      config: t.config as never,
      configVersion: 0,
    });
    expect(follow).toMatchObject({ ok: true, value: { logEndOffset: 0 } });
    // f ships batches of epoch 0 (written by the first leader) at offsets 0..2.
    const bytes = await batchOf(["a", "b", "c"]);
    assignOffsets(bytes, 0, 0);
    expect(
      await stub.replicate({ leader: f, leaderEpoch: 2, fromOffset: 0, data: bytes, keys: [], highWatermark: 3, configVersion: 0 }),
    ).toMatchObject({ ok: true, value: { logEndOffset: 3 } });
    const epochs = await runInDurableObject(stub, async (_instance, state) =>
      state.storage.sql
        .exec<{ epoch: number; start_offset: number }>("SELECT epoch, start_offset FROM leader_epochs ORDER BY epoch")
        .toArray(),
    );
    expect(epochs).toEqual([{ epoch: 0, start_offset: 0 }]);
  });
});

suite("deleting a replicated topic", () => {
  it("wipes every replica's storage and alarm, and nothing in flight recreates any", async () => {
    const name = uniqueTopic("delete-rf3");
    const t = await createReplicated(name, 3, FAST);
    await appendOk(name, await batchOf(["a", "b"]), "all");
    expect((await api(`/v1/topics/${name}`, { method: "DELETE" })).status).toBe(200);
    // Longer than the replicator's retry backoff, so a late call from the leader would have landed.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    for (const r of t.partitions[0].replicas) {
      const stored = await runInDurableObject(replica(t.topicId, r), async (_instance, state) => ({
        tables: state.storage.sql
          .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
          .toArray().length,
        alarm: await state.storage.getAlarm(),
      }));
      expect(stored).toEqual({ tables: 0, alarm: null });
      expect(await replica(t.topicId, r).status()).toMatchObject({ ok: false, code: "UNKNOWN_TOPIC_OR_PARTITION" });
    }
  });
});

suite("fault injection switch", () => {
  it("exists only when the configuration turns it on: otherwise the route is 404 like any unknown route", async () => {
    const name = uniqueTopic("switch");
    await createReplicated(name, 3);
    const body = JSON.stringify({ topic: name, partition: 0, replica: 0, fault: "unreachable" });
    const off = await createApp().fetch(
      new Request(`${BASE}/v1/admin/faults`, { method: "POST", headers: { "content-type": "application/json" }, body }),
      { ...env, EDGELOG_FAULT_INJECTION: undefined },
      createExecutionContext(),
    );
    await expectError(off, 404, "UNSUPPORTED_VERSION");
    // Nothing was injected: the replica answers.
    expect((await describe(name)).partitions[0].leader).toBe(0);
    await expectError(
      await api("/v1/admin/faults", { method: "POST", json: { topic: name, partition: 0, replica: 0, fault: "explode" } }),
      400,
      "INVALID_REQUEST",
    );
    await expectError(
      await api("/v1/admin/faults", { method: "POST", json: { topic: name, partition: 0, replica: 5, fault: "none" } }),
      400,
      "INVALID_REQUEST",
    );
    await expectError(
      await api("/v1/admin/faults", { method: "POST", json: { topic: name, partition: 3, replica: 0, fault: "none" } }),
      404,
      "UNKNOWN_TOPIC_OR_PARTITION",
    );
  });
});
