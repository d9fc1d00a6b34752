/**
 * Where two logs part, by leader epoch (KIP-101 / KIP-279), for the cases failover produces.
 */
import { describe, expect, it } from "vitest";
import { divergence, type EpochEntry } from "../../worker/partition/leader-epochs";

const e = (...pairs: [number, number][]): EpochEntry[] => pairs.map(([epoch, startOffset]) => ({ epoch, startOffset }));

describe("divergence", () => {
  it("a follower that is a prefix of the leader keeps everything", () => {
    expect(divergence(e([0, 0]), 5, e([0, 0], [1, 8]), 12)).toBe(5);
  });

  it("an old leader's suffix the new leader never had is cut where the new epoch starts", () => {
    // Old leader wrote 0..9 in epoch 0; the new leader had 0..5 and leads epoch 1 from 6.
    expect(divergence(e([0, 0]), 10, e([0, 0], [1, 6]), 9)).toBe(6);
  });

  it("a whole epoch the leader never saw is cut at its start", () => {
    // Epoch 1's leader wrote 6..7 alone and failed; epoch 2's leader went on from 6.
    expect(divergence(e([0, 0], [1, 6]), 8, e([0, 0], [2, 6]), 10)).toBe(6);
  });

  it("agreeing epochs are kept, and the cut never passes either log's end", () => {
    expect(divergence(e([0, 0], [2, 4]), 7, e([0, 0], [2, 4], [3, 9]), 12)).toBe(7);
    expect(divergence(e([0, 0]), 9, e([0, 0]), 4)).toBe(4);
    expect(divergence([], 0, e([0, 0]), 4)).toBe(0);
  });

  it("epochs that wrote nothing are skipped", () => {
    expect(divergence(e([0, 0], [1, 3], [2, 3]), 5, e([0, 0], [2, 3]), 6)).toBe(5);
  });
});

describe("divergence at the leader's log start", () => {
  it("an epoch the leader no longer holds because its log starts later is not a divergence below that start", () => {
    // The leader started its log over at 50 (it was far behind); it holds epochs 3 and 4 from there.
    expect(divergence(e([0, 0], [3, 40]), 60, e([3, 50], [4, 55]), 70, 50)).toBe(55);
    expect(divergence(e([0, 0]), 40, e([3, 50]), 70, 50)).toBe(40);
    // An epoch the leader lacks that runs past its log start diverges where the leader's log starts.
    expect(divergence(e([0, 0], [2, 45]), 60, e([3, 50]), 70, 50)).toBe(50);
  });
});
