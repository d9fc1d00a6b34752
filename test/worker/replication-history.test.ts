/**
 * A seeded history of produces, reads and faults against replicated partitions (RF 3), checked
 * as Jepsen checks Kafka (see history.ts): no acknowledged write lost, no duplicate, never two
 * values at one offset, reads dense and in order — across leader failures, crashes mid-append,
 * slow replicas and their recovery. The seed is fixed, so a failure replays the same schedule.
 */
import { describe as suite, expect, it } from "vitest";
import { api } from "./helpers";
import { checkHistory, History, prng } from "./history";
import {
  batchOf,
  createReplicated,
  describe,
  eventually,
  fault,
  initProducer,
  postBatch,
  regionOf,
  storedValues,
  valuesOf,
  type Appended,
  type Producer,
} from "./replication-helpers";

const SEED = 0x5eed_0005;
const PARTITIONS = 2;
const STEPS = 100;
type FaultKind = "unreachable" | "crash-mid-append" | "slow";

suite("a seeded history under faults (RF 3, acks=all, min.insync.replicas 2)", () => {
  it("loses no acknowledged record, duplicates none, never shows two values at one offset, and every replica ends with the same log", async () => {
    const topic = `history-rf3-${Math.random().toString(36).slice(2, 8)}`;
    const created = await createReplicated(topic, 3, { "min.insync.replicas": 2, "replica.lag.time.max.ms": 200 }, PARTITIONS);
    const rnd = prng(SEED);
    const history = new History();
    const producers: { p: Producer; next: number[] }[] = [];
    for (let i = 0; i < 2; i++) producers.push({ p: await initProducer(), next: new Array(PARTITIONS).fill(0) });
    /** The one replica per partition that is faulty now, if any (RF 3 with min.insync 2 tolerates one). */
    const faulty: ({ replica: number; kind: FaultKind } | null)[] = new Array(PARTITIONS).fill(null);
    const hw = new Array(PARTITIONS).fill(0);
    let counter = 0;
    const injected: string[] = [];

    /**
     * Sends one batch. An idempotent one is resent (same bytes) on retriable errors, as a Kafka
     * producer does; a plain one is sent once, and an unknown outcome stays unknown (sent, never
     * acknowledged): if it reached only a leader that then failed, it must vanish, not linger.
     */
    const produce = async (partition: number, plain = rnd.chance(0.3)) => {
      const values = Array.from({ length: 1 + rnd.int(3) }, () => `v${counter++}`);
      if (plain) {
        const op = history.send(values);
        const res = await postBatch(topic, await batchOf(values), "all", partition);
        const body = (await res.json()) as Appended;
        if (res.status === 200) {
          history.ack(
            op,
            values.map((value, i) => ({ value, partition, offset: body.baseOffset + i })),
          );
          hw[partition] = Math.max(hw[partition], body.lastOffset + 1);
        } else {
          expect(body.error?.retriable, JSON.stringify(body)).toBe(true);
        }
        return;
      }
      const prod = rnd.pick(producers);
      const batch = await batchOf(values, prod.p, prod.next[partition]);
      prod.next[partition] += values.length;
      const op = history.send(values);
      for (let attempt = 0; ; attempt++) {
        const res = await postBatch(topic, batch, "all", partition);
        const body = (await res.json()) as Appended;
        if (res.status === 200) {
          const b = body.batches[0];
          history.ack(
            op,
            values.map((value, i) => ({ value, partition, offset: b.baseOffset + i })),
          );
          hw[partition] = Math.max(hw[partition], b.lastOffset + 1);
          return;
        }
        expect(body.error?.retriable, `attempt ${attempt}: ${JSON.stringify(body)}`).toBe(true);
        expect(attempt, "a write that never succeeds with at most one replica down").toBeLessThan(40);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    for (let step = 0; step < STEPS; step++) {
      const partition = rnd.int(PARTITIONS);
      const roll = rnd.next();
      if (roll < 0.5) {
        await produce(partition);
      } else if (roll < 0.65) {
        if (faulty[partition]) continue;
        // Kinds take turns, so every seed exercises each of them. Crashes, and half the other
        // faults, strike the partition's current leader, so elections happen.
        const kind = (["unreachable", "crash-mid-append", "slow"] as const)[injected.length % 3];
        const leader = (await describe(topic)).partitions[partition].leader;
        const replica = kind === "crash-mid-append" || rnd.chance(0.5) ? leader : rnd.pick(created.partitions[partition].replicas);
        await fault(topic, replica, kind, kind === "slow" ? 30 : undefined, partition);
        faulty[partition] = { replica, kind };
        injected.push(`${kind}@${partition}/${replica}`);
        // A write right away meets the fault. After a leader's crash mid-append it is a plain
        // one: its record stays on the old leader only, a suffix that must not survive.
        await produce(partition, kind === "crash-mid-append" ? true : undefined);
      } else if (roll < 0.78) {
        const f = faulty[partition];
        if (!f) continue;
        await fault(topic, f.replica, "none", undefined, partition);
        faulty[partition] = null;
      } else {
        // A read from the leader or from a replica's region, somewhere below what was acknowledged.
        const from = rnd.int(hw[partition] + 1);
        const region = rnd.chance(0.5) ? `&region=${regionOf(rnd.pick(created.partitions[partition].replicas))}` : "";
        const res = await api(`/v1/topics/${topic}/partitions/${partition}/records?offset=${from}&maxRecords=${1 + rnd.int(10)}${region}`);
        const body = (await res.json()) as { records: { offset: number; value: unknown }[] };
        if (res.status !== 200) {
          // A replica that is down, or a leader mid-election, may refuse a read: retriable only.
          expect((body as unknown as { error: { retriable: boolean } }).error.retriable, JSON.stringify(body)).toBe(true);
          continue;
        }
        history.read(
          partition,
          from,
          body.records.map((r) => ({ offset: r.offset, value: String(r.value) })),
        );
      }
    }

    // Heal everything; the in-sync sets fill again and every replica converges on the leader's log.
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const f = faulty[partition];
      if (f) await fault(topic, f.replica, "none", undefined, partition);
    }
    const final = new Map<number, { offset: number; value: string }[]>();
    const description = await eventually(
      "in-sync sets full",
      () => describe(topic),
      (d) => d.partitions.every((p) => p.isr.length === 3),
      15_000,
    );
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const leaderLog = await valuesOf(topic, undefined, partition);
      final.set(
        partition,
        leaderLog.values.map((value, offset) => ({ offset, value })),
      );
      for (const r of description.partitions[partition].replicas) {
        expect(
          await eventually(
            `replica ${r} of ${partition}`,
            () => storedValues(created.topicId, r, partition),
            (v) => v.length === leaderLog.values.length,
          ),
        ).toEqual(leaderLog.values);
      }
    }
    expect(checkHistory(history, final)).toEqual([]);

    // The schedule exercised what it claims to: faults of each kind, an election, reads, acks.
    // (Idempotent writes the worker resent itself never reached this client as errors.)
    expect(new Set(injected.map((i) => i.split("@")[0])).size).toBe(3);
    expect(Math.max(...description.partitions.map((p) => p.leaderEpoch))).toBeGreaterThan(0);
    expect(history.ops.filter((o) => o.type === "read").length).toBeGreaterThan(5);
    expect(history.ops.filter((o) => o.type === "ack").length).toBeGreaterThan(20);
  }, 120_000);
});
