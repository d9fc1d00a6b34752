/**
 * A seeded history of transactions with faults, checked: several transactional producers write
 * to the partitions of one topic, commit, abort, or are abandoned (a new instance fences them),
 * while slow replicas delay their markers and read_committed readers keep reading every
 * partition. The checker looks at every read for:
 *   - an aborted transaction's record (never to be seen);
 *   - part of a transaction on a partition (its records there come all at once or not at all);
 *   - a committed transaction missing from a partition once its commit answered.
 */
import { describe, expect, it } from "vitest";
import { prng } from "../protocol/support";
import { api, uniqueTopic } from "./helpers";

interface Producer {
  producerId: number;
  producerEpoch: number;
}

interface Txn {
  name: string;
  /** Values per partition. */
  values: Map<number, string[]>;
  outcome: "committed" | "aborted" | "open";
}

async function ok(res: Promise<Response>): Promise<Record<string, unknown>> {
  const r = await res;
  const body = (await r.json()) as Record<string, unknown>;
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body;
}

const post = (path: string, json: unknown, headers: Record<string, string> = {}) => api(path, { method: "POST", json, headers });

async function readCommitted(topic: string, partition: number): Promise<string[]> {
  const body = await ok(api(`/v1/topics/${topic}/partitions/${partition}/records?offset=0&maxRecords=10000&isolation=read_committed`));
  return (body.records as { value: string }[]).map((r) => r.value);
}

async function history(seed: number): Promise<string[]> {
  const random = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const topic = uniqueTopic(`txh${seed}`);
  const topicInfo = (await (await api("/v1/topics", { method: "POST", json: { name: topic, partitions: 3 } })).json()) as {
    partitions: { leader: number }[];
  };
  const ids = [0, 1, 2].map((i) => uniqueTopic(`tid${seed}-${i}`));
  const producers = new Map<string, Producer>();
  for (const id of ids) producers.set(id, (await ok(post("/v1/producers", { transactionalId: id }))) as unknown as Producer);
  const txns: Txn[] = [];
  const anomalies: string[] = [];
  const committedBefore = new Set<string>();
  let done = false;

  const check = (partition: number, values: string[], committedAtStart: Set<string>) => {
    const seen = new Map<string, string[]>();
    for (const v of values) {
      const name = v.slice(0, v.lastIndexOf(":"));
      seen.set(name, [...(seen.get(name) ?? []), v]);
    }
    for (const txn of txns) {
      const expected = txn.values.get(partition) ?? [];
      const got = seen.get(txn.name) ?? [];
      if (txn.outcome === "aborted" && got.length > 0) anomalies.push(`partition ${partition}: aborted ${txn.name} visible: ${got}`);
      if (got.length > 0 && JSON.stringify(got) !== JSON.stringify(expected))
        anomalies.push(`partition ${partition}: part of ${txn.name}: ${got} of ${expected}`);
      if (committedAtStart.has(txn.name) && expected.length > 0 && got.length === 0)
        anomalies.push(`partition ${partition}: committed ${txn.name} missing`);
    }
  };

  const reader = (async () => {
    while (!done) {
      const partition = Math.floor(random() * 3);
      const committedAtStart = new Set(committedBefore);
      check(partition, await readCommitted(topic, partition), committedAtStart);
    }
  })();

  for (let n = 0; n < 12; n++) {
    const id = pick(ids);
    const p = producers.get(id)!;
    const name = `${id}/${n}`;
    const parts = [0, 1, 2].filter(() => random() < 0.6);
    if (parts.length === 0) parts.push(0);
    const txn: Txn = { name, values: new Map(), outcome: "open" };
    txns.push(txn);
    await ok(post(`/v1/transactions/${id}/partitions`, { ...p, partitions: parts.map((partition) => ({ topic, partition })) }));
    const headers = {
      "edgelog-transactional-id": id,
      "edgelog-producer-id": String(p.producerId),
      "edgelog-producer-epoch": String(p.producerEpoch),
    };
    for (const partition of parts) {
      const values = Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => `${name}:${i}`);
      txn.values.set(partition, values);
      await ok(post(`/v1/topics/${topic}/records`, { records: values.map((value) => ({ value, partition })) }, headers));
    }
    // Faults: a slow replica delays the marker of one partition.
    const slow = random() < 0.4 ? pick(parts) : null;
    if (slow !== null) {
      await ok(
        post("/v1/admin/faults", { topic, partition: slow, replica: topicInfo.partitions[slow].leader, fault: "slow", delayMs: 15 }),
      );
    }
    const roll = random();
    if (roll < 0.55) {
      await ok(post(`/v1/transactions/${id}/commit`, p));
      txn.outcome = "committed";
      committedBefore.add(name);
    } else if (roll < 0.85) {
      await ok(post(`/v1/transactions/${id}/abort`, p));
      txn.outcome = "aborted";
    } else {
      // Abandoned: a new instance of the producer fences it, which aborts its transaction.
      producers.set(id, (await ok(post("/v1/producers", { transactionalId: id }))) as unknown as Producer);
      txn.outcome = "aborted";
    }
    if (slow !== null) {
      await ok(post("/v1/admin/faults", { topic, partition: slow, replica: topicInfo.partitions[slow].leader, fault: "none" }));
    }
  }
  done = true;
  await reader;
  for (const partition of [0, 1, 2]) check(partition, await readCommitted(topic, partition), new Set(committedBefore));
  return anomalies;
}

describe("a seeded history of transactions with faults", () => {
  for (const seed of [1, 2, 3]) {
    it(`(seed ${seed}) shows no read_committed reader an aborted record, part of a transaction, or a committed one missing`, async () => {
      expect(await history(seed)).toEqual([]);
    }, 60_000);
  }
});
