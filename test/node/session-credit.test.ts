/**
 * A group socket's credit (worker/session/credit.ts), alone: whatever readers reserve and send,
 * in whatever order, what is sent never passes what was granted.
 */
import { describe, expect, it } from "vitest";
import { Credit, type Reservation } from "../../worker/session/credit";

const CAP = { records: 5_000, bytes: 1 << 20 };

/** A small deterministic generator (mulberry32), so a failure replays. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("a group socket's credit", () => {
  it("allows nothing before the first grant, and leaves unlimited what the first grant leaves out", () => {
    const credit = new Credit();
    expect(credit.reserve(1, 1, CAP)).toBeNull();
    credit.grant(10, undefined);
    expect(credit.reserve(1, 1, CAP)).toEqual({ records: 10, bytes: CAP.bytes });
  });

  it("shares what is available between the readers waiting, at least one record each while it lasts", () => {
    const credit = new Credit();
    credit.grant(10, 1_000);
    const first = credit.reserve(4, 1, CAP)!;
    expect(first).toEqual({ records: 2, bytes: 250 });
    credit.reserve(3, 1, CAP);
    credit.reserve(2, 1, CAP);
    credit.reserve(1, 1, CAP);
    expect(credit.reserve(1, 1, CAP)).toBeNull();
    credit.settle(first, 1, 100);
    expect(credit.reserve(1, 1, CAP)).toEqual({ records: 1, bytes: 150 });
  });

  it("never lets what is sent pass what was granted, over 2,000 random steps of grants, reservations and sends", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = prng(seed);
      const credit = new Credit();
      const held: Reservation[] = [];
      let granted = { records: 0, bytes: 0 };
      let sent = { records: 0, bytes: 0 };
      for (let step = 0; step < 100; step++) {
        const roll = random();
        if (roll < 0.2) {
          const g = { records: Math.floor(random() * 20), bytes: Math.floor(random() * 2_000) };
          credit.grant(g.records, g.bytes);
          granted = { records: granted.records + g.records, bytes: granted.bytes + g.bytes };
        } else if (roll < 0.6) {
          const r = credit.reserve(1 + Math.floor(random() * 4), 1 + Math.floor(random() * 300), CAP);
          if (r) held.push(r);
        } else if (held.length > 0) {
          const r = held.splice(Math.floor(random() * held.length), 1)[0];
          const used = { records: Math.floor(random() * (r.records + 1)), bytes: Math.floor(random() * (r.bytes + 1)) };
          credit.settle(r, used.records, used.bytes);
          sent = { records: sent.records + used.records, bytes: sent.bytes + used.bytes };
        }
        const reserved = held.reduce((n, r) => ({ records: n.records + r.records, bytes: n.bytes + r.bytes }), { records: 0, bytes: 0 });
        expect(sent.records + reserved.records, `seed ${seed} step ${step}`).toBeLessThanOrEqual(granted.records);
        expect(sent.bytes + reserved.bytes, `seed ${seed} step ${step}`).toBeLessThanOrEqual(granted.bytes);
        const { records, bytes } = credit.snapshot(); // what a restarted session would still have
        expect({ records, bytes }).toEqual({ records: granted.records - sent.records, bytes: granted.bytes - sent.bytes });
      }
    }
  });

  it("refuses to settle more than was reserved", () => {
    const credit = new Credit();
    credit.grant(5, 500);
    const r = credit.reserve(1, 1, CAP)!;
    expect(() => credit.settle(r, 6, 0)).toThrow();
  });
});
