/**
 * An operation recorder and the checkers Jepsen's Kafka test runs over it (STYLE.md habit 13).
 *
 * Tests record what they sent, what the server acknowledged (each value's partition and
 * offset), what it refused, and every read (the offsets and values a fetch returned). The
 * checkers then look for what example-based tests miss:
 *   - lost writes: an acknowledged value missing from the final read, or at another offset;
 *   - duplicates: a value stored at two offsets;
 *   - inconsistency: two values seen (read or acknowledged) at one offset;
 *   - phantoms: a value read that was never sent, or whose every send was refused;
 *   - gaps and disorder: a read whose offsets are not dense and increasing from where it asked.
 * Every value a test sends must be unique, so a value names one logical write.
 */

/** A seeded PRNG (mulberry32): the same seed drives the same history. */
export function prng(seed: number): {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
} {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}

export interface Placed {
  value: string;
  partition: number;
  offset: number;
}

export type Op =
  | { type: "send"; op: number; values: string[] }
  | { type: "ack"; op: number; placed: Placed[] }
  | { type: "refused"; op: number; values: string[]; code: string }
  | { type: "read"; partition: number; from: number; records: { offset: number; value: string }[] };

/** Records operations in the order they completed. */
export class History {
  readonly ops: Op[] = [];
  #next = 0;

  /** Records a send and answers its op number (to pass to ack / refused). */
  send(values: string[]): number {
    const op = this.#next++;
    this.ops.push({ type: "send", op, values });
    return op;
  }

  ack(op: number, placed: Placed[]): void {
    this.ops.push({ type: "ack", op, placed });
  }

  refused(op: number, values: string[], code: string): void {
    this.ops.push({ type: "refused", op, values, code });
  }

  read(partition: number, from: number, records: { offset: number; value: string }[]): void {
    this.ops.push({ type: "read", partition, from, records });
  }
}

/**
 * Checks the history against the final, complete read of each partition (`final`: partition ->
 * records from offset 0 to the high watermark). Answers every anomaly found; [] means none.
 */
export function checkHistory(history: History, final: Map<number, { offset: number; value: string }[]>): string[] {
  const anomalies: string[] = [];
  const sent = new Set<string>();
  const acked = new Set<string>();
  const refusedOnly = new Map<string, string>();
  /** partition/offset -> the value first seen there (by ack or read), and where it was seen. */
  const atOffset = new Map<string, { value: string; seen: string }>();
  const observe = (partition: number, offset: number, value: string, seen: string) => {
    const slot = `${partition}/${offset}`;
    const before = atOffset.get(slot);
    if (!before) atOffset.set(slot, { value, seen });
    else if (before.value !== value) anomalies.push(`two values at ${slot}: ${before.value} (${before.seen}) and ${value} (${seen})`);
  };

  for (const op of history.ops) {
    if (op.type === "send") op.values.forEach((v) => sent.add(v));
    if (op.type === "refused") op.values.forEach((v) => refusedOnly.set(v, op.code));
    if (op.type === "ack") {
      for (const p of op.placed) {
        acked.add(p.value);
        observe(p.partition, p.offset, p.value, `ack of op ${op.op}`);
      }
    }
    if (op.type === "read") {
      op.records.forEach((r, i) => {
        if (r.offset !== op.from + i)
          anomalies.push(`read of partition ${op.partition} from ${op.from}: record ${i} has offset ${r.offset}, expected ${op.from + i}`);
        observe(op.partition, r.offset, r.value, `read from ${op.from}`);
      });
    }
  }
  for (const v of acked) refusedOnly.delete(v);

  const where = new Map<string, string>();
  for (const [partition, records] of final) {
    records.forEach((r, i) => {
      if (r.offset !== i)
        anomalies.push(`final read of partition ${partition}: record ${i} has offset ${r.offset} (offsets must be dense from 0)`);
      observe(partition, r.offset, r.value, "final read");
      const slot = `${partition}/${r.offset}`;
      const other = where.get(r.value);
      if (other) anomalies.push(`duplicate: ${r.value} stored at ${other} and ${slot}`);
      else where.set(r.value, slot);
      if (!sent.has(r.value)) anomalies.push(`phantom: ${r.value} at ${slot} was never sent`);
      if (refusedOnly.has(r.value)) anomalies.push(`${r.value} at ${slot} was refused (${refusedOnly.get(r.value)}) yet stored`);
    });
  }
  for (const v of acked) if (!where.has(v)) anomalies.push(`lost: acknowledged ${v} is not in the log`);
  return anomalies;
}
