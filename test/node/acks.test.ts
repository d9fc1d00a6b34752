/**
 * acks=all's verdict (worker/partition/acks.ts), without workerd.
 */
import { describe, expect, it } from "vitest";
import { awaitCommit, commitEnd, commitSettled, commitVerdict, type CommitView } from "../../worker/partition/acks";

const view = (v: Partial<CommitView>): CommitView => ({ highWatermark: 0, leading: true, isrSize: 3, minInsyncReplicas: 2, ...v });
const batches = (...lasts: number[]) => ({
  batches: lasts.map((l) => ({ baseOffset: 0, lastOffset: l, duplicate: false })),
  logStartOffset: 0,
  highWatermark: 0,
});

describe("acks=all", () => {
  it("an append is committed once the high watermark passes its last record", () => {
    const end = commitEnd(batches(4, 9));
    expect(end).toBe(10);
    expect(commitSettled(view({ highWatermark: 9 }), end)).toBe(false);
    expect(commitSettled(view({ highWatermark: 10 }), end)).toBe(true);
    expect(commitVerdict(view({ highWatermark: 10 }), end)).toBeNull();
  });

  it("a write whose leadership moved answers REQUEST_TIMED_OUT (outcome unknown), never NOT_LEADER_OR_FOLLOWER", () => {
    const moved = view({ leading: false, highWatermark: 3 });
    expect(commitSettled(moved, 10)).toBe(true);
    expect(commitVerdict(moved, 10)?.code).toBe("REQUEST_TIMED_OUT");
    expect(commitVerdict(view({ leading: false, highWatermark: 10 }), 10)?.code).toBe("REQUEST_TIMED_OUT");
  });

  it("a write the in-sync set fell below min.insync.replicas under is refused NOT_ENOUGH_REPLICAS_AFTER_APPEND, committed or not", () => {
    expect(commitSettled(view({ isrSize: 1 }), 10)).toBe(true);
    expect(commitVerdict(view({ isrSize: 1 }), 10)?.code).toBe("NOT_ENOUGH_REPLICAS_AFTER_APPEND");
    expect(commitVerdict(view({ isrSize: 1, highWatermark: 10 }), 10)?.code).toBe("NOT_ENOUGH_REPLICAS_AFTER_APPEND");
  });

  it("a wait that runs out before the in-sync replicas acknowledge answers REQUEST_TIMED_OUT", async () => {
    let waited = 0;
    const timeOut = async (ready: () => boolean, ms: number) => {
      waited = ms;
      expect(ready()).toBe(false);
    };
    await expect(awaitCommit(10, () => view({ highWatermark: 5 }), timeOut, 35_000)).rejects.toMatchObject({ code: "REQUEST_TIMED_OUT" });
    expect(waited).toBe(35_000);
  });

  it("an append already committed answers without waiting; one committed during the wait succeeds", async () => {
    const never = async () => {
      throw new Error("waited");
    };
    await expect(awaitCommit(10, () => view({ highWatermark: 10 }), never, 1)).resolves.toBeUndefined();
    let hw = 5;
    const commitsMeanwhile = async (ready: () => boolean) => {
      hw = 10;
      expect(ready()).toBe(true);
    };
    await expect(awaitCommit(10, () => view({ highWatermark: hw }), commitsMeanwhile, 1)).resolves.toBeUndefined();
  });
});
