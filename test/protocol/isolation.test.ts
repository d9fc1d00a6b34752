import { describe, expect, it } from "vitest";
import Decoder from "kafkajs/src/protocol/decoder.js";
import decodeRecordBatch from "kafkajs/src/protocol/recordBatch/v0/decoder.js";
import { encodeControlBatch } from "../../protocol/control";
import type { ControlType } from "../../protocol/control";
import { ISOLATION_LEVELS, committedBatches, parseIsolation } from "../../protocol/isolation";
import type { AbortedTransaction, FetchedBatch } from "../../protocol/isolation";
import { encodeBatch, readBatchHeader, splitBatches } from "../../protocol/record-batch";
import { asBuffer } from "./node";
import { concat, expectError, prng, utf8 } from "./support";

const T0 = 1_700_000_000_000;
const NO_PRODUCER = -1;

interface LoggedBatch extends FetchedBatch {
  label: string;
}

/**
 * One partition's log as a broker would hold it: batches at consecutive offsets, and the
 * transaction index (first offset and marker offset of every ended transaction) from which a
 * broker answers a fetch's aborted_transactions.
 */
class Log {
  readonly batches: LoggedBatch[] = [];
  readonly ended: { producerId: number; firstOffset: number; lastOffset: number; type: ControlType }[] = [];
  readonly open = new Map<number, number>(); // producerId -> first offset of its open transaction
  next = 0;

  /** A data batch of `count` records; transactional when `producerId` is given and `txn`. */
  async data(label: string, producerId: number, txn = producerId !== NO_PRODUCER, count = 1): Promise<void> {
    const records = Array.from({ length: count }, (_, i) => ({ key: null, value: utf8(`${label}#${i}`) }));
    const bytes = await encodeBatch(records, {
      baseOffset: this.next,
      timestamp: T0 + this.next,
      producerId,
      producerEpoch: producerId === NO_PRODUCER ? -1 : 0,
      baseSequence: producerId === NO_PRODUCER ? -1 : 0,
      isTransactional: txn,
    });
    if (txn && !this.open.has(producerId)) this.open.set(producerId, this.next);
    this.push(label, bytes);
  }

  marker(producerId: number, type: ControlType): void {
    const firstOffset = this.open.get(producerId);
    if (firstOffset === undefined) throw new Error(`producer ${producerId} has no open transaction`);
    this.open.delete(producerId);
    this.ended.push({ producerId, firstOffset, lastOffset: this.next, type });
    const bytes = encodeControlBatch({
      type,
      producerId,
      producerEpoch: 0,
      coordinatorEpoch: 0,
      timestamp: T0 + this.next,
      baseOffset: this.next,
    });
    this.push(`${type === "commit" ? "COMMIT" : "ABORT"}(${producerId})`, bytes);
  }

  private push(label: string, bytes: Uint8Array): void {
    const header = readBatchHeader(bytes);
    this.batches.push({ label, header, bytes });
    this.next = header.baseOffset + header.lastOffsetDelta + 1;
  }

  /** The batches from `from` (an index), `count` of them. */
  window(from = 0, count = this.batches.length - from): LoggedBatch[] {
    return this.batches.slice(from, from + count);
  }

  /** The aborted transactions a broker answers with a fetch of `window`: those that overlap it (Kafka's collectAbortedTransactions). */
  abortedFor(window: readonly FetchedBatch[]): AbortedTransaction[] {
    const start = window[0].header.baseOffset;
    const last = window[window.length - 1].header;
    const end = last.baseOffset + last.lastOffsetDelta + 1;
    return this.ended
      .filter((t) => t.type === "abort" && t.lastOffset >= start && t.firstOffset < end)
      .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
  }
}

const labels = (batches: readonly LoggedBatch[]): string[] => batches.map((b) => b.label);

/** Three producers interleaved: P1 and P3 commit, P2 aborts, with non-transactional batches between. */
async function interleaved(): Promise<Log> {
  const log = new Log();
  await log.data("P1a", 1);
  await log.data("P2a", 2, true, 3);
  await log.data("N1", NO_PRODUCER);
  await log.data("P3a", 3);
  await log.data("P2b", 2);
  await log.data("P1b", 1, true, 2);
  log.marker(2, "abort");
  await log.data("P3b", 3);
  await log.data("N2", NO_PRODUCER, false, 2);
  log.marker(1, "commit");
  log.marker(3, "commit");
  return log;
}

describe("committedBatches keeps what a read_committed Kafka consumer keeps", () => {
  it("with three producers interleaved, the aborted producer's batches and every marker are dropped, all else kept in order", async () => {
    const log = await interleaved();
    expect(log.abortedFor(log.batches)).toEqual([{ producerId: 2, firstOffset: 1 }]);
    expect(labels(committedBatches(log.batches, log.abortedFor(log.batches)))).toEqual(["P1a", "N1", "P3a", "P1b", "P3b", "N2"]);
  });

  it("with nothing aborted, every data batch is kept and only the control batches go", async () => {
    const log = await interleaved();
    expect(labels(committedBatches(log.batches, []))).toEqual(["P1a", "P2a", "N1", "P3a", "P2b", "P1b", "P3b", "N2"]);
  });

  it("a producer that aborts twice in a row and then commits loses exactly its first two transactions", async () => {
    const log = new Log();
    await log.data("t1a", 1);
    await log.data("Q", 2);
    await log.data("t1b", 1);
    log.marker(1, "abort");
    await log.data("t2a", 1, true, 4);
    log.marker(2, "commit");
    log.marker(1, "abort");
    await log.data("N", NO_PRODUCER);
    await log.data("t3a", 1);
    await log.data("t3b", 1);
    log.marker(1, "commit");
    const aborted = log.abortedFor(log.batches);
    expect(aborted).toEqual([
      { producerId: 1, firstOffset: 0 },
      { producerId: 1, firstOffset: 4 },
    ]);
    expect(labels(committedBatches(log.batches, aborted))).toEqual(["Q", "N", "t3a", "t3b"]);
    // In whatever order the list comes.
    expect(labels(committedBatches(log.batches, [...aborted].reverse()))).toEqual(["Q", "N", "t3a", "t3b"]);
  });

  it("an aborted transaction whose data began before the fetched range is still skipped, up to its marker", async () => {
    const log = new Log();
    await log.data("A1", 1); // offset 0: before the fetch
    await log.data("B1", 2);
    await log.data("A2", 1); // the fetch starts here
    await log.data("N", NO_PRODUCER);
    await log.data("A3", 1);
    log.marker(1, "abort");
    await log.data("A4", 1);
    log.marker(2, "commit");
    log.marker(1, "commit");
    const window = log.window(2);
    const aborted = log.abortedFor(window);
    expect(aborted).toEqual([{ producerId: 1, firstOffset: 0 }]);
    expect(labels(committedBatches(window, aborted))).toEqual(["N", "A4"]);
  });

  it("a fetch that ends before the abort marker drops the aborted transaction's batches it holds", async () => {
    const log = await interleaved();
    const window = log.window(0, 5); // P1a, P2a, N1, P3a, P2b: P2's marker is not in this fetch
    expect(labels(committedBatches(window, log.abortedFor(window)))).toEqual(["P1a", "N1", "P3a"]);
  });

  it("an aborted transaction listed past a batch does not drop it: only firstOffset <= the batch's last offset counts", async () => {
    const log = new Log();
    await log.data("P1a", 1, true, 3); // offsets 0..2
    await log.data("P1b", 1); // 3
    log.marker(1, "commit");
    expect(labels(committedBatches(log.batches, [{ producerId: 1, firstOffset: 3 }]))).toEqual(["P1a"]);
    expect(labels(committedBatches(log.batches, [{ producerId: 1, firstOffset: 2 }]))).toEqual([]);
  });

  it("a non-transactional batch is kept even when its producer id is in an aborted transaction", async () => {
    const log = new Log();
    await log.data("T", 1);
    await log.data("idempotent", 1, false);
    log.marker(1, "abort");
    expect(labels(committedBatches(log.batches, log.abortedFor(log.batches)))).toEqual(["idempotent"]);
  });

  it("keeps the objects it is given, so the batches of splitBatches pass straight through", async () => {
    const log = await interleaved();
    const fetched = splitBatches(concat(...log.batches.map((b) => b.bytes)));
    const kept = committedBatches(fetched, log.abortedFor(log.batches));
    expect(kept.every((b) => fetched.includes(b))).toBe(true);
    expect(kept.map((b) => b.header.baseOffset)).toEqual(
      committedBatches(log.batches, log.abortedFor(log.batches)).map((b) => b.header.baseOffset),
    );
  });

  it("CORRUPT_MESSAGE for batches out of offset order, or a control batch that is not a valid marker", async () => {
    const log = await interleaved();
    await expectError(() => committedBatches([log.batches[1], log.batches[0]], []), "CORRUPT_MESSAGE", /not after the previous batch/);
    await expectError(() => committedBatches([log.batches[0], log.batches[0]], []), "CORRUPT_MESSAGE", /not after the previous batch/);
    const marker = log.batches.find((b) => b.header.isControl)!;
    const broken = { ...marker, bytes: marker.bytes.slice(0, -1) };
    await expectError(() => committedBatches([broken], []), "CORRUPT_MESSAGE");
  });

  it("agrees with kafkajs 2.2.4's consumer, which filters the same fetch record by record", async () => {
    const { default: Batch } = (await import(/* @vite-ignore */ KAFKAJS_BATCH)) as { default: KafkajsBatch };
    for (const [log, from] of [
      [await interleaved(), 0],
      [await interleaved(), 2],
    ] as const) {
      const window = log.window(from);
      const aborted = log.abortedFor(window);
      const messages = [];
      for (const { bytes } of window) messages.push(...(await decodeRecordBatch(new Decoder(asBuffer(bytes)))).records);
      const theirs = new Batch("t", String(window[0].header.baseOffset), {
        partition: 0,
        highWatermark: String(log.next),
        messages,
        abortedTransactions: aborted.map((a) => ({ producerId: String(a.producerId), firstOffset: String(a.firstOffset) })),
      });
      const ours = committedBatches(window, aborted).flatMap(({ header }) =>
        Array.from({ length: header.recordCount }, (_, i) => String(header.baseOffset + i)),
      );
      expect(ours.length).toBeGreaterThan(0);
      expect(theirs.messages.map((m) => m.offset)).toEqual(ours);
    }
  });
});

/** kafkajs's consumer Batch (untyped internals): it drops aborted and control records of one fetch. */
const KAFKAJS_BATCH = "kafkajs/src/consumer/batch.js";
type KafkajsBatch = new (
  topic: string,
  fetchedOffset: string,
  partitionData: {
    partition: number;
    highWatermark: string;
    messages: object[];
    abortedTransactions: { producerId: string; firstOffset: string }[];
  },
) => { messages: { offset: string }[] };

describe("committedBatches against a reference model (seeded random logs)", () => {
  it("keeps exactly the non-transactional batches and those of transactions that committed, for any interleaving and fetch window", async () => {
    const PRODUCERS = [1, 2, 3, 2 ** 40 + 7];
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
      const log = new Log();
      // Batch label -> its transaction (null: not transactional), whose outcome is set by its marker.
      const txnOf = new Map<string, { outcome?: ControlType } | null>();
      const current = new Map<number, { outcome?: ControlType }>();
      const steps = 5 + Math.floor(random() * 40);
      for (let step = 0; step < steps; step++) {
        const label = `s${step}`;
        const roll = random();
        if (roll < 0.15) {
          await log.data(label, random() < 0.5 ? NO_PRODUCER : 9, false, 1 + Math.floor(random() * 3));
          txnOf.set(label, null);
          continue;
        }
        const producer = pick(PRODUCERS);
        const txn = current.get(producer);
        if (txn && roll > 0.6) {
          txn.outcome = random() < 0.5 ? "abort" : "commit";
          current.delete(producer);
          log.marker(producer, txn.outcome);
          continue;
        }
        const open = txn ?? {};
        if (!txn) current.set(producer, open);
        await log.data(label, producer, true, 1 + Math.floor(random() * 3));
        txnOf.set(label, open);
      }
      // A read_committed fetch stops at the last stable offset: the first offset of a transaction still open.
      const lso = Math.min(log.next, ...log.open.values());
      const stable = log.batches.filter((b) => b.header.baseOffset < lso);
      if (stable.length === 0) continue;
      const from = Math.floor(random() * stable.length);
      const window = stable.slice(from, from + 1 + Math.floor(random() * (stable.length - from)));
      let aborted = log.abortedFor(window);
      // Entries starting past the window are harmless: add them sometimes, and shuffle.
      if (random() < 0.5) {
        const start = window[0].header.baseOffset;
        aborted = log.ended
          .filter((t) => t.type === "abort" && t.lastOffset >= start)
          .map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
      }
      aborted.sort(() => random() - 0.5);

      const data = window.filter((b) => !b.header.isControl);
      // Below the last stable offset every transaction has ended.
      for (const b of data) if (txnOf.get(b.label) !== null) expect(txnOf.get(b.label)?.outcome, `seed ${seed} ${b.label}`).toBeDefined();
      const expected = data.filter((b) => txnOf.get(b.label) === null || txnOf.get(b.label)?.outcome === "commit");
      expect(labels(committedBatches(window, aborted)), `seed ${seed}`).toEqual(labels(expected));
    }
  });
});

describe("parseIsolation", () => {
  it("missing, null or empty is read_uncommitted, Kafka's default; the two names read as themselves", () => {
    expect(parseIsolation(undefined)).toBe("read_uncommitted");
    expect(parseIsolation(null)).toBe("read_uncommitted");
    expect(parseIsolation("")).toBe("read_uncommitted");
    for (const level of ISOLATION_LEVELS) expect(parseIsolation(level)).toBe(level);
    expect(ISOLATION_LEVELS).toEqual(["read_uncommitted", "read_committed"]);
  });

  it("anything else is INVALID_REQUEST, including other spellings (Kafka's config is exact too)", async () => {
    for (const value of ["READ_COMMITTED", "read-committed", " read_committed", "committed", "0", "1"]) {
      await expectError(() => parseIsolation(value), "INVALID_REQUEST", /is unknown: use read_uncommitted or read_committed/);
    }
  });
});
