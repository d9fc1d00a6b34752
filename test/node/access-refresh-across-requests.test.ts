/**
 * Regression: requests hung ("the Workers runtime canceled this request because it detected that
 * your Worker's code had hung") or failed with "Cannot perform I/O on behalf of a different
 * request" under load with auth on. Each isolate's access state (worker/access/snapshot.ts) is
 * refreshed every 5 s, and concurrent requests used to await the one refresh in flight: a request
 * that awaits a promise another request's I/O resolves goes on in that other request's context,
 * which workerd refuses. Only answers may be shared between requests, never calls in flight.
 *
 * Against a real `wrangler dev` (separate requests, as in production; the workers pool's
 * worker.fetch calls share one context and cannot show it), as the benchmark runs: an API key's
 * principal with prefixed ACLs among 200 others and quotas (bench/access-setup.ts) keeps 10
 * binary produces in flight for 30 s while it creates a topic every second. Before the fix this
 * failed within 10-25 s (2 runs of 2); every request must answer 200.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeBatch } from "../../protocol/record-batch";
import { RECORD_BATCH_MEDIA_TYPE } from "../../protocol/wire";
import { startDevServer, type DevServer } from "../support/dev-server";
import { BENCH_ADMIN_TOKEN, configureAccess } from "../../bench/access-setup";
import { closeAgent, request } from "../../bench/http";
import { callingAs } from "../support/http";

let server: DevServer;

describe("access state refreshed under concurrent requests", () => {
  beforeAll(async () => {
    server = await startDevServer({ vars: { EDGELOG_TOKEN: BENCH_ADMIN_TOKEN } });
  }, 90_000);
  afterAll(async () => {
    closeAgent();
    await server?.stop();
  });

  it("answers every one of many concurrent requests across several refreshes, none hung or refused", async () => {
    const secret = await configureAccess(server.url); // the bench's: a key, prefixed ACLs among 200 others, quotas
    const asLoader = callingAs(() => server.url, secret);
    expect((await asLoader("/v1/topics", { name: "bench-refreshed-0", partitions: 1 })).status).toBe(201);
    const batch = await encodeBatch([{ key: null, value: new Uint8Array(100), headers: [] }]);
    const until = Date.now() + 30_000; // six refreshes of ACCESS_STALENESS_MS (5 s): the failure took 10-25 s to show
    const failures: string[] = [];
    let answered = 0;
    // The administrator creates a topic every second meanwhile (each request of its own may be the
    // one that starts a refresh), and the load moves to it.
    let topics = 1;
    const creating = (async () => {
      while (Date.now() < until && failures.length === 0) {
        await new Promise((r) => setTimeout(r, 1_000));
        const created = await asLoader("/v1/topics", { name: `bench-refreshed-${topics}`, partitions: 1 });
        if (created.status === 201) topics++;
        else failures.push(`create: ${created.status} ${JSON.stringify(created.body).slice(0, 200)}`);
      }
    })();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (Date.now() < until && failures.length === 0) {
          const res = await request(`${server.url}/v1/topics/bench-refreshed-${topics - 1}/partitions/0/batches?acks=1`, {
            method: "POST",
            headers: { authorization: `Bearer ${secret}`, "content-type": RECORD_BATCH_MEDIA_TYPE },
            body: batch,
          });
          if (res.status === 200) answered++;
          else failures.push(`${res.status} ${res.body.toString().slice(0, 200)}`);
        }
      }),
    );
    await creating;
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
  }, 60_000);
});
