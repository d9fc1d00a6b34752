/**
 * Against a real `wrangler dev`, killed with SIGKILL between the markers of a commit: once it is
 * started again on the same state, the coordinator finishes the commit it had decided, and every
 * partition of the transaction shows it committed (none stays without its marker). The third
 * partition is made slow (the fault-injection switch, on for this test's server only) so the kill
 * lands after the first two markers and before the third.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startDevServer, type DevServer } from "../support/dev-server";

let server: DevServer | undefined;

async function call(base: string, path: string, json?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: json === undefined ? "GET" : "POST",
    headers: { ...(json === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && ok(value)) return value;
    if (Date.now() > end) throw new Error(`${what}: not after ${ms} ms (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("a transaction commit interrupted by kill -9", () => {
  afterAll(async () => {
    await server?.stop();
  });

  it("is completed after the restart: every partition shows the transaction committed, or (before it completes) the decided outcome is still pending, never a mix that stays", async () => {
    const vars = { EDGELOG_FAULT_INJECTION: "on" };
    server = await startDevServer({ vars });
    const base = server.url;
    expect((await call(base, "/v1/topics", { name: "crash-a", partitions: 2 })).status).toBe(201);
    expect((await call(base, "/v1/topics", { name: "crash-b", partitions: 1 })).status).toBe(201);
    const producer = (await call(base, "/v1/producers", { transactionalId: "crash-tx" })).body as {
      producerId: number;
      producerEpoch: number;
    };
    const partitions = [
      { topic: "crash-a", partition: 0 },
      { topic: "crash-a", partition: 1 },
      { topic: "crash-b", partition: 0 },
    ];
    expect((await call(base, "/v1/transactions/crash-tx/partitions", { ...producer, partitions })).status).toBe(200);
    const txHeaders = {
      "edgelog-transactional-id": "crash-tx",
      "edgelog-producer-id": String(producer.producerId),
      "edgelog-producer-epoch": String(producer.producerEpoch),
    };
    for (const { topic, partition } of partitions) {
      const res = await call(base, `/v1/topics/${topic}/records`, { records: [{ value: `${topic}/${partition}`, partition }] }, txHeaders);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    // crash-b's partition answers nothing for 20 s: its marker is written last, if at all.
    const slow = await call(base, "/v1/admin/faults", { topic: "crash-b", partition: 0, replica: 0, fault: "slow", delayMs: 20_000 });
    expect(slow.status, JSON.stringify(slow.body)).toBe(200);

    const commit = call(base, "/v1/transactions/crash-tx/commit", producer).catch(() => null);
    const hw = (topic: string, partition: number) =>
      call(base, `/v1/topics/${topic}/partitions/${partition}/records?offset=0`).then((r) => r.body.highWatermark as number);
    // The first two markers are in (record + marker = 2), the third is not.
    await until(
      "crash-a's markers",
      async () => [await hw("crash-a", 0), await hw("crash-a", 1)],
      (v) => v[0] === 2 && v[1] === 2,
    );
    process.kill(-server.pgid, "SIGKILL");
    await commit;
    await server.stop();

    server = await startDevServer({ vars, persistTo: server.persistTo });
    const again = server.url;
    expect((await call(again, "/v1/admin/faults", { topic: "crash-b", partition: 0, replica: 0, fault: "none" })).status).toBe(200);
    // The coordinator's alarm finishes the commit it stored before the first marker.
    for (const { topic, partition } of partitions) {
      const read = await until(
        `${topic}/${partition} committed`,
        () => call(again, `/v1/topics/${topic}/partitions/${partition}/records?offset=0&isolation=read_committed`),
        (r) => (r.body.records as unknown[]).length === 1,
      );
      expect((read.body.records as { value: string }[])[0].value).toBe(`${topic}/${partition}`);
      expect(read.body.lastStableOffset).toBe(read.body.highWatermark);
    }
    // A retried commit is answered as done; the zombie-free producer goes on.
    expect((await call(again, "/v1/transactions/crash-tx/commit", producer)).body).toEqual({ state: "CompleteCommit" });
  }, 240_000);
});
